// apply.cpp — `snmctl apply -c FILE [--root DIR]`: validate, then install
// (snapshots, keys, certificate, rendered Postfix/Dovecot configuration) all
// or nothing. Prints what it did.
#include <fmt/format.h>

#include <cstdio>

#include "commands.hpp"
#include "config_loader.hpp"
#include "option_parser.hpp"
#include "postfix_features.hpp"
#include "deployment.hpp"
#include "install.hpp"

namespace snm::ctl {

int run_apply(const Arguments& args) {
    OptionParser options({.name = "snmctl apply",
                          .usage = "usage: snmctl apply -c FILE [--root DIR] [-q]\n",
                          .valued = {{"--config", "-c"}, {"--root"}},
                          .flags = {{"--quiet", "-q"}}});
    if (auto status = options.parse(args)) return *status;
    if (!options.value("--config")) return options.usage_error("missing -c FILE");
    const auto loaded = load_config_file(*options.value("--config"));
    for (const auto& diagnostic : loaded.diagnostics) fmt::print(stderr, "{}\n", diagnostic.format());
    if (!loaded.config) {
        fmt::print(stderr, "snmctl apply: the configuration has errors; nothing was changed\n");
        return kExitFailure;
    }
    if (!print_postfix_features(*loaded.config)) {
        fmt::print(stderr, "snmctl apply: this machine's Postfix cannot serve the configuration; nothing was changed\n");
        return kExitFailure;
    }
    const std::string root = options.value("--root").value_or("/");
    const Config config = rooted_at(*loaded.config, root);
    auto installed = install(config, system_deployment(root));
    if (!installed) {
        fmt::print(stderr, "snmctl apply: {}; nothing was changed\n", installed.error().message);
        return kExitFailure;
    }
    if (!options.flag("--quiet"))
        for (const auto& line : *installed) fmt::print("{}\n", line);
    return kExitOk;
}

}  // namespace snm::ctl
