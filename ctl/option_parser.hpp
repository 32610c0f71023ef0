// option_parser.hpp — the small, strict command-line parser of snmctl's
// subcommands: "--name VALUE", "-n VALUE", "--name=VALUE" and flags. An
// unknown option is a usage error naming it.
#pragma once

#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace snm::ctl {

class OptionParser {
public:
    // `valued`: options taking a value, each as {"--long", "-s"} ("" if none).
    OptionParser(std::vector<std::pair<std::string, std::string>> valued,
                 std::vector<std::pair<std::string, std::string>> flags);

    // Fills values/flags/positionals; returns an error message or "".
    std::string parse(const std::vector<std::string>& args);

    std::optional<std::string> value(const std::string& long_name) const;
    bool flag(const std::string& long_name) const { return set_flags_.count(long_name) > 0; }
    const std::vector<std::string>& positionals() const { return positionals_; }

private:
    std::vector<std::pair<std::string, std::string>> valued_, flags_;
    std::map<std::string, std::string> values_;
    std::set<std::string> set_flags_;
    std::vector<std::string> positionals_;
};

}  // namespace snm::ctl
