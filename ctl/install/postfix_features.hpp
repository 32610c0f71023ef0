// postfix_features.hpp — whether this machine's Postfix has the parameters
// the rendered main.cf relies on for security, asked of Postfix itself
// (`postconf -d`), so a too-old Postfix is refused instead of ignoring the
// setting with an "unused parameter" warning in its log.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "config.hpp"

namespace snm::ctl {

// The answer of `postconf -d mail_version NAME…`: the version and the
// names it did not know (postconf prints no "NAME = value" line for those).
struct PostfixFeatures {
    std::string version;
    std::vector<std::string> missing;
};
PostfixFeatures parse_postconf_defaults(std::string_view output, const std::vector<std::string>& parameters);

// What `config` needs of Postfix and this Postfix lacks, as messages a
// person can act on: `errors` refuse the configuration, `warnings` say
// Postfix could not be asked (not installed on this machine).
struct PostfixFeatureReport {
    std::vector<std::string> errors;
    std::vector<std::string> warnings;
};
PostfixFeatureReport check_postfix_features(const Config& config);

// Prints the report to stderr, each line as "SOURCE: error: …" or
// "SOURCE: warning: …" (SOURCE is config.sourceFile); false if it has errors.
bool print_postfix_features(const Config& config);

}  // namespace snm::ctl
