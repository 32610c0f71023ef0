// supervisor.hpp — the sandbox's process supervisor: one background process
// that owns every server as its child and restarts the ones that die.
#pragma once

#include <string>
#include <sys/types.h>
#include <vector>

#include "result.hpp"

namespace snm::ctl {

// One server: its name (for its pid and log file) and its command line.
struct SupervisedServer {
    std::string name;
    std::vector<std::string> argv;
};

// Forks the supervisor, which starts `servers` in order, each in its own
// session, output to LOG_DIR/NAME.log, pid in RUN_DIR/NAME.pid. Returns once
// all are started (not yet ready). On SIGTERM it stops them in reverse order.
Result<pid_t> start_supervisor(const std::string& run_dir, const std::string& log_dir,
                               const std::vector<SupervisedServer>& servers);

// Stops `pid` and everything left in its process group.
void stop_process_group(pid_t pid);

}  // namespace snm::ctl
