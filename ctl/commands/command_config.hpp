// command_config.hpp — the prologue of the snmctl subcommands that read
// snm.toml (check, apply, dns, dkim, sandbox): the file named by -c, loaded,
// every diagnostic printed, and for those that install, this machine's
// Postfix asked whether it can serve it. Written once, so every subcommand
// words the same faults the same way.
#pragma once

#include <optional>

#include "config.hpp"
#include "option_parser.hpp"

namespace snm::ctl {

// Whether the subcommand refuses a configuration this machine's Postfix
// cannot serve (print_postfix_features): check, apply and sandbox do; dns
// and dkim, which read keys only, do not.
enum class PostfixCheck { Skip, Require };

// The configuration a subcommand works on or, when there is none, the
// status it exits with, every message about why printed already.
struct CommandConfig {
    std::optional<Config> config;
    int exit_status = kExitOk;
};

// Loads the file of `options`' --config (-c) after they were parsed: a
// missing -c is a usage error; a file with errors, or (with Require) a
// Postfix that cannot serve it, fails with "FILE: …; nothing was changed".
CommandConfig load_for_command(const OptionParser& options, PostfixCheck postfix);

}  // namespace snm::ctl
