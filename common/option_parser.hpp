// option_parser.hpp — the one command-line parser of every snm program
// (snmctl and each of its subcommands, snm-policyd, snm-dkim-milter,
// snm-spam-learn), so that all of them read their arguments alike:
//
//   --name VALUE, --name=VALUE, -n VALUE, -nVALUE   an option with a value
//   --flag, -f, -fv (flags bundled)                 a flag
//   --                                              the rest are arguments
//   --help, -h      the usage on stdout, exit 0
//   --version, -V   "PROGRAM VERSION" on stdout, exit 0
//
// Options and arguments may come in any order; the last of a repeated
// option wins. An unknown option, an option without its value, a value
// given to a flag and too many arguments are usage errors: one line naming
// the fault, then the usage, on stderr; exit 2.
#pragma once

#include <cstddef>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "exit_status.hpp"

namespace snm {

// An option: its long name ("--state") and a short alias ("-s"), if any.
struct Option {
    std::string long_name;
    std::string short_name = {};
};

// What a program (or an snmctl subcommand) accepts.
struct CommandSyntax {
    // Starts every message: "snm-policyd", or "snmctl check" for a
    // subcommand (--version names the program, the first word).
    std::string name;
    // Printed by --help and after a usage error: "usage: NAME …\n" first.
    std::string usage;
    std::vector<Option> valued = {};  // options that take a value
    std::vector<Option> flags = {};   // options that do not
    // How many arguments that are not options it takes at most.
    std::size_t max_positionals = 0;
};

// No limit on the number of positional arguments.
inline constexpr std::size_t kAnyNumberOfPositionals = static_cast<std::size_t>(-1);

class OptionParser {
public:
    explicit OptionParser(CommandSyntax syntax);

    // Reads the arguments (without argv[0]). Returns the status to exit
    // with when the program should stop now, its output printed: after
    // --help or --version (kExitOk) or a usage error (kExitUsage).
    std::optional<int> parse(const std::vector<std::string>& args);

    // The value of a valued option, by its long name.
    std::optional<std::string> value(std::string_view long_name) const;
    // Whether a flag was given, by its long name.
    bool flag(std::string_view long_name) const { return set_flags_.count(long_name) > 0; }
    // The arguments that are not options, in order.
    const std::vector<std::string>& positionals() const { return positionals_; }

    // A usage error found after parsing (a required option missing, a bad
    // value): "NAME: MESSAGE" and the usage on stderr; returns kExitUsage.
    int usage_error(std::string_view message) const;

private:
    // Read args[i], a long option ("--name", "--name=VALUE") or short
    // options ("-n", "-nVALUE", "-fv"); they may take args[i + 1] as the
    // value, advancing i. Each returns an error message, or "".
    std::string parse_long(const std::vector<std::string>& args, std::size_t& i);
    std::string parse_short(const std::vector<std::string>& args, std::size_t& i);

    CommandSyntax syntax_;
    std::map<std::string, std::string, std::less<>> values_;
    std::set<std::string, std::less<>> set_flags_;
    std::vector<std::string> positionals_;
};

}  // namespace snm
