// postfix_features.cpp — see postfix_features.hpp.
#include "postfix_features.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cstdio>

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

}  // namespace

PostfixFeatures parse_postconf_defaults(std::string_view output, const std::vector<std::string>& parameters) {
    PostfixFeatures features;
    std::vector<std::string> known;
    while (!output.empty()) {
        const auto end = output.find('\n');
        const std::string_view line = output.substr(0, end);
        output = end == std::string_view::npos ? std::string_view{} : output.substr(end + 1);
        const auto equals = line.find(" = ");
        const auto bare = line.size() >= 2 && line.substr(line.size() - 2) == " =";  // an empty default
        if (equals == std::string_view::npos && !bare) continue;  // "postconf: warning: …"
        const std::string name(line.substr(0, bare && equals == std::string_view::npos ? line.size() - 2 : equals));
        if (name == "mail_version" && equals != std::string_view::npos)
            features.version = std::string(line.substr(equals + 3));
        known.push_back(name);
    }
    for (const auto& parameter : parameters)
        if (std::find(known.begin(), known.end(), parameter) == known.end()) features.missing.push_back(parameter);
    return features;
}

PostfixFeatureReport check_postfix_features(const Config& config) {
    PostfixFeatureReport report;
    const auto needed = requirements(config);
    if (needed.empty()) return report;
    std::vector<std::string> argv = {"postconf", "-d", "mail_version"}, parameters;
    for (const auto& requirement : needed) parameters.push_back(requirement.parameter);
    argv.insert(argv.end(), parameters.begin(), parameters.end());
    auto run = run_program(argv, "install postfix");
    if (!run || !run->succeeded) {
        const std::string why = run ? run->output.substr(0, run->output.find('\n')) : run.error().message;
        for (const auto& requirement : needed)
            report.warnings.push_back(fmt::format(
                "cannot ask Postfix whether it has {} ({}); {} needs Postfix {} or newer", requirement.parameter, why,
                requirement.option, requirement.releases));
        return report;
    }
    const auto features = parse_postconf_defaults(run->output, parameters);
    for (const auto& requirement : needed)
        if (std::find(features.missing.begin(), features.missing.end(), requirement.parameter) !=
            features.missing.end())
            report.errors.push_back(fmt::format(
                "this machine's Postfix {} has no {}: {}; upgrade Postfix to {} or newer, or set {} = false "
                "to accept the risk",
                features.version.empty() ? "(version unknown)" : features.version, requirement.parameter,
                requirement.risk, requirement.releases, requirement.option));
    return report;
}

bool print_postfix_features(const Config& config) {
    const auto report = check_postfix_features(config);
    for (const auto& warning : report.warnings) fmt::print(stderr, "{}: warning: {}\n", config.sourceFile, warning);
    for (const auto& error : report.errors) fmt::print(stderr, "{}: error: {}\n", config.sourceFile, error);
    return report.errors.empty();
}

}  // namespace snm::ctl
