// apply.cpp — `snmctl apply -c FILE [--root DIR] [--dry-run] [--no-reload]`:
// validate, then install (snapshots, keys, certificate, the rendered
// Postfix/Dovecot/rspamd configuration, the mail user) all or nothing, and
// reload the servers whose configuration changed. Prints what it did, or
// with --dry-run what it would do.
#include <fmt/format.h>

#include <cstdio>

#include "command_config.hpp"
#include "commands.hpp"
#include "deployment.hpp"
#include "install.hpp"

namespace snm::ctl {

int run_apply(const Arguments& args) {
    OptionParser options({.name = "snmctl apply",
                          .usage = "usage: snmctl apply -c FILE [--root DIR] [--dry-run] [--no-reload] [-q]\n",
                          .valued = {{"--config", "-c"}, {"--root"}},
                          .flags = {{"--quiet", "-q"}, {"--dry-run", "-n"}, {"--no-reload"}}});
    if (auto status = options.parse(args)) return *status;
    const auto loaded = load_for_command(options, PostfixCheck::Require);
    if (!loaded.config) return loaded.exit_status;
    if (!loaded.config->enable) {
        fmt::print("{} has `enable = false` (SNM's mailserver.enable): snm is switched off; nothing was installed, "
                   "and what an earlier apply installed is left as it was\n", loaded.config->sourceFile);
        return kExitOk;
    }
    const std::string root = options.value("--root").value_or("/");
    const Config config = rooted_at(*loaded.config, root);
    const InstallOptions install_options{.dry_run = options.flag("--dry-run"), .reload = !options.flag("--no-reload")};
    auto installed = install(config, system_deployment(root), install_options);
    if (!installed) {
        fmt::print(stderr, "snmctl apply: {}; nothing was changed\n", installed.error().message);
        return kExitFailure;
    }
    if (!options.flag("--quiet") || install_options.dry_run)
        for (const auto& line : *installed) fmt::print("{}{}", line, line.ends_with('\n') ? "" : "\n");
    return kExitOk;
}

}  // namespace snm::ctl
