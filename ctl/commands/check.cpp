// check.cpp — `snmctl check -c FILE`: validate snm.toml and that this
// machine's Postfix has what it needs, print every diagnostic, exit 0
// (valid, possibly with warnings) or 1.
#include <fmt/format.h>

#include "command_config.hpp"
#include "commands.hpp"

namespace snm::ctl {

int run_check(const Arguments& args) {
    OptionParser options({.name = "snmctl check",
                          .usage = "usage: snmctl check -c FILE [-q]\n",
                          .valued = {{"--config", "-c"}},
                          .flags = {{"--quiet", "-q"}}});
    if (auto status = options.parse(args)) return *status;
    const auto loaded = load_for_command(options, PostfixCheck::Require);
    if (!loaded.config) return loaded.exit_status;
    if (!options.flag("--quiet")) {
        const auto& config = *loaded.config;
        fmt::print("{}: valid — {} domain{}, {} login account{}\n", config.sourceFile, config.domains.size(),
                   config.domains.size() == 1 ? "" : "s", config.loginAccounts.size(),
                   config.loginAccounts.size() == 1 ? "" : "s");
    }
    return kExitOk;
}

}  // namespace snm::ctl
