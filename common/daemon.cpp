// daemon.cpp — see daemon.hpp.
#include "daemon.hpp"

#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <pthread.h>
#include <cstring>
#include <fmt/format.h>

#include "staged_files.hpp"

namespace snm {

Status drop_privileges(const std::string& user) {
    if (::geteuid() != 0) {
        if (user.empty()) return success();
        const passwd* self = ::getpwuid(::geteuid());
        if (self && user == self->pw_name) return success();
        return Error{fmt::format("cannot switch to user {}: not running as root", user)};
    }
    if (user.empty()) return Error{"running as root: name an unprivileged user to run as (--user)"};
    const passwd* account = ::getpwnam(user.c_str());
    if (!account) return Error{fmt::format("user {} does not exist; create it (e.g. `adduser --system {}`)", user, user)};
    if (::initgroups(account->pw_name, account->pw_gid) != 0)
        return Error{fmt::format("initgroups({}) failed: {}", user, std::strerror(errno))};
    if (::setgid(account->pw_gid) != 0) return Error{fmt::format("setgid failed: {}", std::strerror(errno))};
    if (::setuid(account->pw_uid) != 0) return Error{fmt::format("setuid failed: {}", std::strerror(errno))};
    if (account->pw_uid != 0 && ::setuid(0) == 0) return Error{"privileges could be regained after dropping them"};
    return success();
}

Status give_socket_to_mta_group(const std::string& path) {
    const group* mta = ::getgrnam(kMtaGroup);
    if (!mta) return success();
    if (::chown(path.c_str(), static_cast<uid_t>(-1), mta->gr_gid) != 0)
        return Error{fmt::format("cannot give {} to group {} ({}); Postfix may not be able to connect: run as root or "
                                 "with {} as a supplementary group",
                                 path, kMtaGroup, std::strerror(errno), kMtaGroup)};
    return success();
}

Status detach() {
    const pid_t child = ::fork();
    if (child < 0) return Error{fmt::format("fork failed: {}", std::strerror(errno))};
    if (child > 0) ::_exit(0);
    if (::setsid() < 0) return Error{fmt::format("setsid failed: {}", std::strerror(errno))};
    if (::chdir("/") != 0) return Error{fmt::format("chdir / failed: {}", std::strerror(errno))};
    const int null = ::open("/dev/null", O_RDWR);
    if (null < 0) return Error{fmt::format("cannot open /dev/null: {}", std::strerror(errno))};
    ::dup2(null, STDIN_FILENO);
    ::dup2(null, STDOUT_FILENO);
    ::dup2(null, STDERR_FILENO);
    if (null > STDERR_FILENO) ::close(null);
    return success();
}

void raise_descriptor_limit() {
    rlimit limit{};
    if (::getrlimit(RLIMIT_NOFILE, &limit) == 0 && limit.rlim_cur < limit.rlim_max) {
        limit.rlim_cur = limit.rlim_max;
        ::setrlimit(RLIMIT_NOFILE, &limit);
    }
}

Result<int> signal_events() {
    ::signal(SIGPIPE, SIG_IGN);
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGHUP);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    if (::pthread_sigmask(SIG_BLOCK, &set, nullptr) != 0) return Error{"cannot block signals"};
    const int fd = ::signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
    if (fd < 0) return Error{fmt::format("signalfd failed: {}", std::strerror(errno))};
    return fd;
}

Status write_pid_file(const std::string& path) {
    StagedFiles staged;
    if (auto s = staged.stage_content(path, FileOwnership{0644, {}, {}}, fmt::format("{}\n", ::getpid())); !s) return s;
    if (auto committed = staged.commit(); !committed) return committed.error();
    return success();
}

}  // namespace snm
