// log.cpp — see log.hpp.
#include "log.hpp"

#include <syslog.h>
#include <unistd.h>

#include <cstdio>
#include <mutex>
#include <string>

namespace snm {

namespace {

struct LogState {
    std::mutex mutex;
    std::string program = "snm";
    LogTarget target = LogTarget::Stderr;
    bool debug = false;
};

LogState& state() {
    static LogState s;
    return s;
}

}  // namespace

void log_open(std::string_view program, LogTarget target, bool debug) {
    auto& s = state();
    std::lock_guard lock(s.mutex);
    s.program = std::string(program);
    s.target = target;
    s.debug = debug;
    if (target == LogTarget::Syslog) ::openlog(s.program.c_str(), LOG_PID | LOG_NDELAY, LOG_MAIL);
}

bool log_debug_enabled() { return state().debug; }

void log_line(LogLevel level, std::string_view message) {
    auto& s = state();
    if (level == LogLevel::Debug && !s.debug) return;
    // Postfix marks severity in the text: "warning: …", "error: …".
    const char* prefix = level == LogLevel::Error ? "error: " : level == LogLevel::Warning ? "warning: " : "";
    std::lock_guard lock(s.mutex);
    if (s.target == LogTarget::Syslog) {
        const int priority = level == LogLevel::Error     ? LOG_ERR
                             : level == LogLevel::Warning ? LOG_WARNING
                             : level == LogLevel::Info    ? LOG_INFO
                                                          : LOG_DEBUG;
        ::syslog(priority, "%s%.*s", prefix, static_cast<int>(message.size()), message.data());
    } else {
        const std::string line = fmt::format("{}[{}]: {}{}\n", s.program, ::getpid(), prefix, message);
        std::fwrite(line.data(), 1, line.size(), stderr);
        std::fflush(stderr);
    }
}

}  // namespace snm
