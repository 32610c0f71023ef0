// option_parser.cpp — see option_parser.hpp.
#include "option_parser.hpp"

#include <fmt/format.h>

#include <cstdio>

namespace snm {

namespace {

// The options every program has; the parser answers them itself.
constexpr const char* kHelp = "--help";
constexpr const char* kVersion = "--version";

// The long name of `text` (a long or a short name) in `table`, or nullptr.
const std::string* find(const std::vector<Option>& table, std::string_view text) {
    for (const auto& option : table)
        if (text == option.long_name || (!option.short_name.empty() && text == option.short_name))
            return &option.long_name;
    return nullptr;
}

}  // namespace

OptionParser::OptionParser(CommandSyntax syntax) : syntax_(std::move(syntax)) {
    syntax_.flags.push_back({kHelp, "-h"});
    syntax_.flags.push_back({kVersion, "-V"});
}

std::optional<int> OptionParser::parse(const std::vector<std::string>& args) {
    for (std::size_t i = 0; i < args.size(); ++i) {
        const std::string& arg = args[i];
        if (arg == "--") {
            positionals_.insert(positionals_.end(), args.begin() + static_cast<std::ptrdiff_t>(i) + 1, args.end());
            break;
        }
        if (arg.size() < 2 || arg[0] != '-') {  // "-" is an argument: standard input, by convention
            positionals_.push_back(arg);
            continue;
        }
        if (auto problem = arg.starts_with("--") ? parse_long(args, i) : parse_short(args, i); !problem.empty())
            return usage_error(problem);
        if (flag(kHelp)) {
            fmt::print("{}", syntax_.usage);
            return kExitOk;
        }
        if (flag(kVersion)) {
            fmt::print("{} {}\n", syntax_.name.substr(0, syntax_.name.find(' ')), SNM_VERSION);
            return kExitOk;
        }
    }
    if (positionals_.size() > syntax_.max_positionals)
        return usage_error(fmt::format("unexpected argument `{}`", positionals_[syntax_.max_positionals]));
    return std::nullopt;
}

std::string OptionParser::parse_long(const std::vector<std::string>& args, std::size_t& i) {
    std::string_view arg = args[i];
    std::optional<std::string_view> inline_value;
    if (const auto equals = arg.find('='); equals != std::string_view::npos) {
        inline_value = arg.substr(equals + 1);
        arg = arg.substr(0, equals);
    }
    if (const auto* name = find(syntax_.valued, arg)) {
        if (inline_value) values_[*name] = *inline_value;
        else if (i + 1 < args.size()) values_[*name] = args[++i];
        else return fmt::format("option {} needs a value", arg);
        return {};
    }
    if (const auto* name = find(syntax_.flags, arg)) {
        if (inline_value) return fmt::format("option {} takes no value", arg);
        set_flags_.insert(*name);
        return {};
    }
    return fmt::format("unknown option {}", arg);
}

std::string OptionParser::parse_short(const std::vector<std::string>& args, std::size_t& i) {
    const std::string& arg = args[i];
    for (std::size_t at = 1; at < arg.size(); ++at) {
        const std::string option = {'-', arg[at]};
        if (const auto* name = find(syntax_.valued, option)) {
            if (at + 1 < arg.size()) values_[*name] = arg.substr(at + 1);
            else if (i + 1 < args.size()) values_[*name] = args[++i];
            else return fmt::format("option {} needs a value", option);
            return {};
        }
        const auto* name = find(syntax_.flags, option);
        if (!name) return arg.size() == 2 ? fmt::format("unknown option {}", arg)
                                          : fmt::format("unknown option {} in {}", option, arg);
        set_flags_.insert(*name);
    }
    return {};
}

std::optional<std::string> OptionParser::value(std::string_view long_name) const {
    const auto it = values_.find(long_name);
    if (it == values_.end()) return std::nullopt;
    return it->second;
}

int OptionParser::usage_error(std::string_view message) const {
    fmt::print(stderr, "{}: {}\n{}", syntax_.name, message, syntax_.usage);
    return kExitUsage;
}

}  // namespace snm
