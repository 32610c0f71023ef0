// authdb_args.cpp — see authdb_args.hpp.
#include "authdb_args.hpp"

#include <fmt/format.h>

namespace snm::dovecot {

namespace {

// Splits on runs of spaces and tabs, as Dovecot's own drivers do.
template <typename Visitor>
void for_each_word(std::string_view text, Visitor&& visit) {
    constexpr std::string_view kSpace = " \t";
    while (true) {
        const auto start = text.find_first_not_of(kSpace);
        if (start == std::string_view::npos) return;
        text.remove_prefix(start);
        const auto end = text.find_first_of(kSpace);
        visit(text.substr(0, end));
        if (end == std::string_view::npos) return;
        text.remove_prefix(end);
    }
}

}  // namespace

Result<AuthdbArgs> parse_authdb_args(std::string_view args, std::string_view kind, bool default_blocking) {
    AuthdbArgs parsed;
    parsed.blocking = default_blocking;
    std::string error;
    const auto fail = [&](std::string message) {
        if (error.empty()) error = fmt::format("{} snm: {}", kind, message);
    };
    for_each_word(args, [&](std::string_view word) {
        if (word.starts_with('/')) {
            if (!parsed.snapshot_path.empty())
                fail(fmt::format("more than one snapshot path in args ('{}' and '{}')", parsed.snapshot_path, word));
            parsed.snapshot_path = std::string(word);
            return;
        }
        const auto equals = word.find('=');
        if (equals == std::string_view::npos) {
            fail(fmt::format("'{}' in args is neither a setting (name=value) nor an absolute snapshot path", word));
            return;
        }
        const auto name = word.substr(0, equals);
        const auto value = word.substr(equals + 1);
        if (name != "blocking") {
            fail(fmt::format("unknown setting '{}' in args (known: blocking=yes|no)", name));
            return;
        }
        if (value == "yes")
            parsed.blocking = true;
        else if (value == "no")
            parsed.blocking = false;
        else
            fail(fmt::format("blocking={} in args: expected yes or no", value));
    });
    if (error.empty() && parsed.snapshot_path.empty())
        fail("args must name the accounts snapshot, e.g. args = /var/lib/snm/accounts.cdb");
    if (!error.empty()) return Error{error};
    return parsed;
}

}  // namespace snm::dovecot
