// postfix_features.hpp — whether this machine's Postfix has the parameters
// the rendered main.cf relies on for security, asked of Postfix itself
// (`postconf -d`), so a too-old Postfix is refused instead of ignoring the
// setting with an "unused parameter" warning in its log.
#pragma once

#include "config.hpp"

namespace snm::ctl {

// Asks Postfix for what `config` needs and prints, to stderr, each
// parameter it lacks as "SOURCE: error: …" (with the releases that have it
// and the option that turns the need off) and, when Postfix cannot be asked
// (not installed here), "SOURCE: warning: …"; SOURCE is config.sourceFile.
// False if there was an error.
bool print_postfix_features(const Config& config);

}  // namespace snm::ctl
