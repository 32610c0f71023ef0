// daemon.hpp — process plumbing shared by snm-dkim-milter and snm-policyd:
// dropping root, detaching, descriptor limits, and turning signals into
// events.
#pragma once

#include <string>

#include "result.hpp"

namespace snm {

// When running as root: switch to `user` (its primary group and
// supplementary groups) for good. When not root: succeeds if `user` is
// empty or is the current user, so a private test instance runs as is.
Status drop_privileges(const std::string& user);

// The group Postfix's processes run as. snm's daemons give their unix
// sockets to it (mode 0660), so Postfix and no other local user connects.
inline constexpr const char* kMtaGroup = "postfix";

// Gives the unix socket `path` to kMtaGroup: possible as root, or as a
// member of that group (systemd's SupplementaryGroups=postfix in the units).
// An error names what to fix; a host without the group is not an error.
Status give_socket_to_mta_group(const std::string& path);

// Forks into the background (setsid, chdir /, stdin/stdout/stderr to
// /dev/null). Used when a daemon runs without -f.
Status detach();

// Blocks SIGHUP, SIGTERM, SIGINT (and ignores SIGPIPE) in the calling thread
// — call before starting threads so all inherit it — and returns a signalfd
// delivering them, for an event loop or a dedicated signal thread.
Result<int> signal_events();

// Raises the soft limit on open files to the hard one: a daemon holding
// many persistent MTA connections must reach its own connection limit
// before the descriptor limit (systemd's default soft limit is 1024).
void raise_descriptor_limit();

// Writes the pid to `path` (for `snmctl sandbox down`), atomically.
Status write_pid_file(const std::string& path);

}  // namespace snm
