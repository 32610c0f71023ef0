// passwd.cpp — `snmctl passwd [--scheme sha512-crypt|bcrypt|argon2id]`:
// read a password from standard input (without echo on a terminal, asked
// twice there) and print a hash for `hashedPassword`.
#include <termios.h>
#include <unistd.h>

#include <fmt/format.h>

#include <cstdio>
#include <iostream>
#include <string>

#include "commands.hpp"
#include "option_parser.hpp"
#include "password_hash.hpp"

namespace snm::ctl {

namespace {

// Reads one line; on a terminal, with echo off for the duration.
std::optional<std::string> read_secret_line(const char* prompt) {
    const bool terminal = ::isatty(STDIN_FILENO);
    termios saved{};
    if (terminal) {
        fmt::print(stderr, "{}", prompt);
        std::fflush(stderr);
        ::tcgetattr(STDIN_FILENO, &saved);
        termios quiet = saved;
        quiet.c_lflag &= ~static_cast<tcflag_t>(ECHO);
        ::tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet);
    }
    std::string line;
    const bool got = static_cast<bool>(std::getline(std::cin, line));
    if (terminal) {
        ::tcsetattr(STDIN_FILENO, TCSAFLUSH, &saved);
        fmt::print(stderr, "\n");
    }
    if (!got) return std::nullopt;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    return line;
}

}  // namespace

int run_passwd(const Arguments& args) {
    OptionParser options({.name = "snmctl passwd",
                          .usage = "usage: snmctl passwd [--scheme sha512-crypt|bcrypt|argon2id] < password\n",
                          .valued = {{"--scheme", "-s"}}});
    if (auto status = options.parse(args)) return *status;
    auto scheme = parse_hash_scheme(options.value("--scheme").value_or("sha512-crypt"));
    if (!scheme) return options.usage_error(scheme.error().message);
    auto password = read_secret_line("Password: ");
    if (!password || password->empty()) {
        fmt::print(stderr, "snmctl passwd: no password given on standard input\n");
        return kExitFailure;
    }
    if (::isatty(STDIN_FILENO)) {
        auto again = read_secret_line("Again: ");
        if (!again || *again != *password) {
            fmt::print(stderr, "snmctl passwd: the passwords differ\n");
            return kExitFailure;
        }
    }
    auto hash = hash_password(*password, *scheme);
    if (!hash) {
        fmt::print(stderr, "snmctl passwd: {}\n", hash.error().message);
        return kExitFailure;
    }
    fmt::print("{}\n", *hash);
    return kExitOk;
}

}  // namespace snm::ctl
