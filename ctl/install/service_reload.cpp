// service_reload.cpp — see service_reload.hpp.
#include "service_reload.hpp"

#include <signal.h>

#include <fmt/format.h>
#include <fstream>

namespace snm::ctl {

namespace {

// The pid in `pid_file` when it is a live process named `command` (a
// stale file's pid may belong to another process by now).
pid_t live_master(const std::string& pid_file, const std::string& command) {
    pid_t pid = 0;
    if (!(std::ifstream(pid_file) >> pid) || pid <= 1) return 0;
    std::string name;
    std::ifstream(fmt::format("/proc/{}/comm", pid)) >> name;
    return name == command ? pid : 0;
}

std::string reload(const char* server, const std::string& pid_file, const std::string& command,
                   const std::string& what_changed) {
    const pid_t pid = live_master(pid_file, command);
    if (pid == 0) return fmt::format("{} is not running: it reads {} when it starts", server, what_changed);
    if (::kill(pid, SIGHUP) != 0) return fmt::format("{} (pid {}) could not be told to reload", server, pid);
    return fmt::format("reloaded {} (pid {})", server, pid);
}

}  // namespace

std::vector<std::string> reload_services(const Deployment& d, const ServicesToReload& which,
                                         const std::string& what_changed) {
    std::vector<std::string> lines;
    if (which.postfix) lines.push_back(reload("Postfix", d.postfix_master_pid_file(), "master", what_changed));
    if (which.dovecot) lines.push_back(reload("Dovecot", d.dovecot_master_pid_file(), "dovecot", what_changed));
    if (which.rspamd) lines.push_back(reload("rspamd", d.rspamd_pid_file(), "rspamd", what_changed));
    return lines;
}

}  // namespace snm::ctl
