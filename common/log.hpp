// log.hpp — logging for snm's daemons and plugins-side C++ code.
//
// In the foreground (-f) lines go to stderr; otherwise to syslog, facility
// mail, as Postfix's daemons log: "snm-policyd[123]: warning: …". One line
// per decision. Thread-safe; a line is never interleaved with another.
#pragma once

#include <fmt/format.h>

#include <string>
#include <string_view>

namespace snm {

enum class LogLevel { Error, Warning, Info, Debug };

enum class LogTarget { Stderr, Syslog };

// Call once at start-up. `program` is the syslog ident.
void log_open(std::string_view program, LogTarget target, bool debug = false);

void log_line(LogLevel level, std::string_view message);

template <typename... Args>
void log_error(fmt::format_string<Args...> format, Args&&... args) {
    log_line(LogLevel::Error, fmt::format(format, std::forward<Args>(args)...));
}
template <typename... Args>
void log_warning(fmt::format_string<Args...> format, Args&&... args) {
    log_line(LogLevel::Warning, fmt::format(format, std::forward<Args>(args)...));
}
template <typename... Args>
void log_info(fmt::format_string<Args...> format, Args&&... args) {
    log_line(LogLevel::Info, fmt::format(format, std::forward<Args>(args)...));
}
template <typename... Args>
void log_debug(fmt::format_string<Args...> format, Args&&... args) {
    log_line(LogLevel::Debug, fmt::format(format, std::forward<Args>(args)...));
}

bool log_debug_enabled();

}  // namespace snm
