// postfix_features.cpp — see postfix_features.hpp.
#include "postfix_features.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cstdio>
#include <string>
#include <string_view>
#include <vector>

#include "run_program.hpp"

namespace snm::ctl {

namespace {

// A parameter the configuration needs, the option that asks for it and the
// first releases that have it (for the message).
struct Requirement {
    const char* parameter;
    const char* option;
    const char* releases;
    const char* risk;
};

constexpr Requirement kBareNewline = {"smtpd_forbid_bare_newline", "smtpdForbidBareNewline",
                                      "3.5.23, 3.6.13, 3.7.9, 3.8.4 or 3.9",
                                      "SMTP smuggling (postfix.org/smtp-smuggling.html) would stay open"};

std::vector<Requirement> requirements(const Config& config) {
    std::vector<Requirement> needed;
    if (config.smtpdForbidBareNewline) needed.push_back(kBareNewline);
    return needed;
}

// The answer of `postconf -d mail_version NAME…`: a "name = value" line
// ("name =" for an empty value) for each parameter Postfix knows, none for
// the others (it warns about those on stderr, which run_program merges).
struct Postconf {
    std::string version;
    std::vector<std::string> known;
};

Postconf parse_postconf(std::string_view output) {
    Postconf parsed;
    while (!output.empty()) {
        const auto end = output.find('\n');
        const std::string_view line = output.substr(0, end);
        output = end == std::string_view::npos ? std::string_view{} : output.substr(end + 1);
        const auto equals = line.find(" =");
        if (equals == std::string_view::npos || line.starts_with("postconf:")) continue;
        const std::string_view name = line.substr(0, equals);
        if (name == "mail_version" && line.size() > equals + 3) parsed.version = line.substr(equals + 3);
        parsed.known.emplace_back(name);
    }
    return parsed;
}

}  // namespace

bool print_postfix_features(const Config& config) {
    const auto needed = requirements(config);
    if (needed.empty()) return true;
    std::vector<std::string> argv = {"postconf", "-d", "mail_version"};
    for (const auto& requirement : needed) argv.push_back(requirement.parameter);
    auto run = run_program(argv, "install postfix");
    if (!run || !run->succeeded) {
        const std::string why = run ? run->output.substr(0, run->output.find('\n')) : run.error().message;
        for (const auto& requirement : needed)
            fmt::print(stderr, "{}: warning: cannot ask Postfix whether it has {} ({}); {} needs Postfix {} or newer\n",
                       config.sourceFile, requirement.parameter, why, requirement.option, requirement.releases);
        return true;
    }
    const auto postconf = parse_postconf(run->output);
    bool ok = true;
    for (const auto& requirement : needed) {
        if (std::find(postconf.known.begin(), postconf.known.end(), requirement.parameter) != postconf.known.end())
            continue;
        fmt::print(stderr,
                   "{}: error: this machine's Postfix {} has no {}: {}; upgrade Postfix to {} or newer, or set {} = "
                   "false to accept the risk\n",
                   config.sourceFile, postconf.version.empty() ? "(version unknown)" : postconf.version,
                   requirement.parameter, requirement.risk, requirement.releases, requirement.option);
        ok = false;
    }
    return ok;
}

}  // namespace snm::ctl
