// apply.cpp — `snmctl apply -c FILE [--root DIR]`: validate, compile the
// snapshots, and replace them all or nothing. Prints what it installed.
#include <fmt/format.h>

#include <cstdio>

#include "commands.hpp"
#include "config_loader.hpp"
#include "option_parser.hpp"
#include "snapshot_compiler.hpp"
#include "staged_files.hpp"

namespace snm::ctl {

int run_apply(const Arguments& args) {
    OptionParser options({{"--config", "-c"}, {"--root", ""}}, {{"--quiet", "-q"}});
    if (auto problem = options.parse(args); !problem.empty() || !options.value("--config")) {
        fmt::print(stderr, "snmctl apply: {}\nusage: snmctl apply -c FILE [--root DIR]\n",
                   problem.empty() ? "missing -c FILE" : problem);
        return kExitUsage;
    }
    const auto loaded = load_config_file(*options.value("--config"));
    for (const auto& diagnostic : loaded.diagnostics) fmt::print(stderr, "{}\n", diagnostic.format());
    if (!loaded.config) {
        fmt::print(stderr, "snmctl apply: the configuration has errors; nothing was changed\n");
        return kExitFailure;
    }
    const Config config = rooted_at(*loaded.config, options.value("--root").value_or("/"));

    StagedFiles staged;
    if (auto staged_ok = stage_snapshots(config, default_snapshot_owners(), staged); !staged_ok) {
        fmt::print(stderr, "snmctl apply: {}; nothing was changed\n", staged_ok.error().message);
        return kExitFailure;
    }
    if (auto committed = staged.commit(); !committed) {
        fmt::print(stderr, "snmctl apply: {}\n", committed.error().message);
        return kExitFailure;
    }
    if (!options.flag("--quiet"))
        for (const auto& target : staged.targets()) fmt::print("installed {}\n", target);
    return kExitOk;
}

}  // namespace snm::ctl
