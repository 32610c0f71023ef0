// install.hpp — what `snmctl apply` does once the configuration is valid:
// compile the snapshots, make keys and certificates, render the stock
// Postfix and Dovecot configuration, and put it all in place together.
// Shared by `snmctl apply` and `snmctl sandbox up`.
#pragma once

#include <string>
#include <vector>

#include "config.hpp"
#include "deployment.hpp"
#include "result.hpp"

namespace snm::ctl {

// `config` must already be rooted at deployment.root (rooted_at). All or
// nothing: on error, no file has changed. Returns one line per action.
Result<std::vector<std::string>> install(const Config& config, const Deployment& deployment);

}  // namespace snm::ctl
