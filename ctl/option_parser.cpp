// option_parser.cpp — see option_parser.hpp.
#include "option_parser.hpp"

namespace snm::ctl {

OptionParser::OptionParser(std::vector<std::pair<std::string, std::string>> valued,
                           std::vector<std::pair<std::string, std::string>> flags)
    : valued_(std::move(valued)), flags_(std::move(flags)) {}

std::string OptionParser::parse(const std::vector<std::string>& args) {
    const auto long_name_of = [](const auto& table, const std::string& arg) -> std::string {
        for (const auto& [long_name, short_name] : table)
            if (arg == long_name || (!short_name.empty() && arg == short_name)) return long_name;
        return {};
    };
    for (std::size_t i = 0; i < args.size(); ++i) {
        std::string arg = args[i];
        if (arg.size() < 2 || arg[0] != '-') {
            positionals_.push_back(arg);
            continue;
        }
        std::optional<std::string> inline_value;
        if (auto eq = arg.find('='); arg.starts_with("--") && eq != std::string::npos) {
            inline_value = arg.substr(eq + 1);
            arg.resize(eq);
        }
        if (auto name = long_name_of(valued_, arg); !name.empty()) {
            if (inline_value) values_[name] = *inline_value;
            else if (i + 1 < args.size()) values_[name] = args[++i];
            else return "option " + arg + " needs a value";
        } else if (auto flag_name = long_name_of(flags_, arg); !flag_name.empty() && !inline_value) {
            set_flags_.insert(flag_name);
        } else {
            return "unknown option " + arg;
        }
    }
    return {};
}

std::optional<std::string> OptionParser::value(const std::string& long_name) const {
    auto it = values_.find(long_name);
    if (it == values_.end()) return std::nullopt;
    return it->second;
}

}  // namespace snm::ctl
