// daemon.hpp — process plumbing shared by snm-dkim-milter and snm-policyd:
// dropping root, detaching, and turning signals into events.
#pragma once

#include <string>

#include "result.hpp"

namespace snm {

// When running as root: switch to `user` (its primary group and
// supplementary groups) for good. When not root: succeeds if `user` is
// empty or is the current user, so a private test instance runs as is.
Status drop_privileges(const std::string& user);

// Forks into the background (setsid, chdir /, stdin/stdout/stderr to
// /dev/null). Used when a daemon runs without -f.
Status detach();

// Blocks SIGHUP, SIGTERM, SIGINT (and ignores SIGPIPE) in the calling thread
// — call before starting threads so all inherit it — and returns a signalfd
// delivering them, for an event loop or a dedicated signal thread.
Result<int> signal_events();

// Writes the pid to `path` (for `snmctl sandbox down`), atomically.
Status write_pid_file(const std::string& path);

}  // namespace snm
