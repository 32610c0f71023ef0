// supervisor.cpp — the sandbox's supervisor (see supervisor.hpp).
//
// A forked child of `snmctl sandbox up` that stays in the background, in its
// own session, its pid in RUN_DIR/supervisor.pid, its log in
// LOG_DIR/supervisor.log. Every server runs as its child in its own session
// (so its process group is its pid). When one exits or is killed the
// supervisor logs one line (name, pid, how it died), kills what is left of
// its process group (rspamd's workers outlive a killed main) and restarts it
// after a back-off: 0.5 s doubling to 10 s, reset once it stayed up 60 s.
// SIGTERM stops the servers in reverse start order, each with its process
// group, and exits.
#include "supervisor.hpp"

#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstring>
#include <ctime>
#include <fmt/format.h>
#include <fstream>
#include <optional>
#include <thread>

namespace snm::ctl {

namespace {

using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

// The first restart is quick (a crash is usually a one-off) …
constexpr auto kFirstBackoff = 500ms;
// … repeated crashes back off to this, so a broken server does not spin …
constexpr auto kMaxBackoff = 10s;
// … and a server that stayed up this long starts again at kFirstBackoff.
constexpr auto kStableUptime = 60s;
// How long a server gets to exit on SIGTERM before SIGKILL.
constexpr auto kStopTimeout = 10s;
// How often the supervisor looks for exited children and due restarts.
constexpr auto kPollInterval = 50ms;

volatile std::sig_atomic_t stop_requested = 0;
void request_stop(int) { stop_requested = 1; }

struct Child {
    SupervisedServer server;
    pid_t pid = 0;
    Clock::time_point started;
    Clock::duration backoff = kFirstBackoff;
    std::optional<Clock::time_point> restart_at;
};

void log_line(const std::string& log_dir, const std::string& text) {
    const std::time_t now = std::time(nullptr);
    char stamp[32];
    std::strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%SZ", std::gmtime(&now));
    std::ofstream(log_dir + "/supervisor.log", std::ios::app) << stamp << " " << text << std::endl;
}

pid_t spawn(const std::string& run_dir, const std::string& log_dir, const SupervisedServer& server) {
    const std::string log = fmt::format("{}/{}.log", log_dir, server.name);
    const pid_t child = ::fork();
    if (child == 0) {
        ::setsid();
        ::signal(SIGTERM, SIG_DFL);
        const int out = ::open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
        const int in = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
        if (out >= 0) {
            ::dup2(out, STDOUT_FILENO);
            ::dup2(out, STDERR_FILENO);
        }
        if (in >= 0) ::dup2(in, STDIN_FILENO);
        std::vector<char*> args;
        for (const auto& a : server.argv) args.push_back(const_cast<char*>(a.c_str()));
        args.push_back(nullptr);
        ::execvp(args[0], args.data());
        std::fprintf(stderr, "cannot run %s: %s\n", args[0], std::strerror(errno));
        ::_exit(127);
    }
    if (child > 0) std::ofstream(fmt::format("{}/{}.pid", run_dir, server.name)) << child << "\n";
    return child;
}

std::string how_it_died(int status) {
    if (WIFSIGNALED(status)) return fmt::format("killed by signal {} ({})", WTERMSIG(status), ::strsignal(WTERMSIG(status)));
    return fmt::format("exited with status {}", WEXITSTATUS(status));
}

[[noreturn]] void supervise(const std::string& run_dir, const std::string& log_dir, std::vector<Child> children,
                            int ready_fd) {
    for (auto& c : children) {
        c.pid = spawn(run_dir, log_dir, c.server);
        c.started = Clock::now();
        log_line(log_dir, fmt::format("{} started, pid {}", c.server.name, c.pid));
    }
    (void)::write(ready_fd, "1", 1);
    ::close(ready_fd);
    while (!stop_requested) {
        int status = 0;
        for (pid_t pid; (pid = ::waitpid(-1, &status, WNOHANG)) > 0;)
            for (auto& c : children) {
                if (c.pid != pid) continue;
                ::kill(-pid, SIGKILL);  // what is left of its process group
                if (Clock::now() - c.started >= kStableUptime) c.backoff = kFirstBackoff;
                log_line(log_dir, fmt::format("{} (pid {}) {}; restarting in {} ms", c.server.name, pid,
                                              how_it_died(status),
                                              std::chrono::duration_cast<std::chrono::milliseconds>(c.backoff).count()));
                c.pid = 0;
                c.restart_at = Clock::now() + c.backoff;
                c.backoff = std::min<Clock::duration>(c.backoff * 2, kMaxBackoff);
            }
        for (auto& c : children)
            if (c.restart_at && Clock::now() >= *c.restart_at && !stop_requested) {
                c.restart_at.reset();
                c.pid = spawn(run_dir, log_dir, c.server);
                c.started = Clock::now();
                log_line(log_dir, fmt::format("{} restarted, pid {}", c.server.name, c.pid));
            }
        std::this_thread::sleep_for(kPollInterval);
    }
    log_line(log_dir, "stopping");
    for (auto it = children.rbegin(); it != children.rend(); ++it)
        if (it->pid > 0) stop_process_group(it->pid);
    ::unlink((run_dir + "/supervisor.pid").c_str());
    ::_exit(0);
}

}  // namespace

void stop_process_group(pid_t pid) {
    if (pid <= 1) return;
    const pid_t group = ::getpgid(pid);
    if (::kill(pid, SIGTERM) == 0) {
        const auto deadline = Clock::now() + kStopTimeout;
        while (Clock::now() < deadline) {
            int status = 0;
            if (::waitpid(pid, &status, WNOHANG) == pid || ::kill(pid, 0) != 0) break;
            std::this_thread::sleep_for(kPollInterval);
        }
        ::kill(pid, SIGKILL);
    }
    if (group > 1) ::kill(-group, SIGKILL);
}

Result<pid_t> start_supervisor(const std::string& run_dir, const std::string& log_dir,
                               const std::vector<SupervisedServer>& servers) {
    int ready[2];
    if (::pipe2(ready, O_CLOEXEC) != 0) return Error{fmt::format("pipe for the supervisor failed: {}", std::strerror(errno))};
    const pid_t supervisor = ::fork();
    if (supervisor < 0) return Error{fmt::format("fork for the supervisor failed: {}", std::strerror(errno))};
    if (supervisor == 0) {
        ::close(ready[0]);
        ::setsid();
        // Let go of `up`'s output: whoever reads it waits for every writer to close it.
        if (const int null = ::open("/dev/null", O_RDWR | O_CLOEXEC); null >= 0)
            for (const int fd : {STDIN_FILENO, STDOUT_FILENO, STDERR_FILENO}) ::dup2(null, fd);
        ::signal(SIGTERM, request_stop);
        ::signal(SIGINT, SIG_IGN);
        ::signal(SIGHUP, SIG_IGN);
        std::vector<Child> children;
        for (const auto& s : servers) {
            Child child;
            child.server = s;
            children.push_back(std::move(child));
        }
        supervise(run_dir, log_dir, std::move(children), ready[1]);
    }
    ::close(ready[1]);
    std::ofstream(run_dir + "/supervisor.pid") << supervisor << "\n";
    char byte = 0;
    const bool started = ::read(ready[0], &byte, 1) == 1;
    ::close(ready[0]);
    if (!started) return Error{fmt::format("the supervisor died while starting the servers; see {}/supervisor.log", log_dir)};
    return supervisor;
}

}  // namespace snm::ctl
