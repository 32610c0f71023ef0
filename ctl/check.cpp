// check.cpp — `snmctl check -c FILE`: validate snm.toml and that this
// machine's Postfix has what it needs, print every diagnostic, exit 0
// (valid, possibly with warnings) or 1.
#include <fmt/format.h>

#include <cstdio>

#include "commands.hpp"
#include "config_loader.hpp"
#include "option_parser.hpp"
#include "postfix_features.hpp"

namespace snm::ctl {

int run_check(const Arguments& args) {
    OptionParser options({.name = "snmctl check",
                          .usage = "usage: snmctl check -c FILE [-q]\n",
                          .valued = {{"--config", "-c"}},
                          .flags = {{"--quiet", "-q"}}});
    if (auto status = options.parse(args)) return *status;
    if (!options.value("--config")) return options.usage_error("missing -c FILE");
    const auto loaded = load_config_file(*options.value("--config"));
    for (const auto& diagnostic : loaded.diagnostics) fmt::print(stderr, "{}\n", diagnostic.format());
    if (!loaded.config) {
        std::size_t errors = 0;
        for (const auto& d : loaded.diagnostics) errors += d.severity == Severity::Error;
        fmt::print(stderr, "{}: {} error{}; nothing was changed\n", *options.value("--config"), errors,
                   errors == 1 ? "" : "s");
        return kExitFailure;
    }
    if (!print_postfix_features(*loaded.config)) {
        fmt::print(stderr, "{}: this machine's Postfix cannot serve the configuration\n", *options.value("--config"));
        return kExitFailure;
    }
    if (!options.flag("--quiet")) {
        const auto& config = *loaded.config;
        fmt::print("{}: valid — {} domain{}, {} login account{}\n", config.sourceFile, config.domains.size(),
                   config.domains.size() == 1 ? "" : "s", config.loginAccounts.size(),
                   config.loginAccounts.size() == 1 ? "" : "s");
    }
    return kExitOk;
}

}  // namespace snm::ctl
