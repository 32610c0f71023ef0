// commands.hpp — the subcommands of snmctl, each `int run_NAME(args)`
// returning the process exit status (exit_status.hpp: 0 success, 1 failure,
// 2 usage).
#pragma once

#include <string>
#include <vector>

#include "exit_status.hpp"

namespace snm::ctl {

using Arguments = std::vector<std::string>;

int run_check(const Arguments& args);
int run_apply(const Arguments& args);
int run_passwd(const Arguments& args);
int run_sandbox(const Arguments& args);
int run_dkim(const Arguments& args);
int run_dns(const Arguments& args);
int run_cert(const Arguments& args);

}  // namespace snm::ctl
