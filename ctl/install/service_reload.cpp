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

std::string reload(const char* server, const std::string& pid_file, const std::string& command) {
    const pid_t pid = live_master(pid_file, command);
    if (pid == 0) return fmt::format("{} is not running: it reads the new certificate when it starts", server);
    if (::kill(pid, SIGHUP) != 0) return fmt::format("{} (pid {}) could not be told to reload", server, pid);
    return fmt::format("reloaded {} (pid {})", server, pid);
}

}  // namespace

std::vector<std::string> reload_mail_services(const Deployment& d) {
    return {reload("Postfix", d.postfix_master_pid_file(), "master"),
            reload("Dovecot", d.dovecot_master_pid_file(), "dovecot")};
}

}  // namespace snm::ctl
