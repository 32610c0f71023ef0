// render_rspamd.hpp — rspamd's configuration for snm, as the files rspamd
// keeps for local settings (local.d/, override.d/ beside the distribution's
// rspamd.conf, which includes them; the sandbox adds an rspamd.conf of its
// own that includes them the same way): the proxy worker in milter mode for
// Postfix, the controller for learning, Redis for
// Bayes, SNM's extended spam headers and `X-Spam: Yes`, rspamd's own DKIM
// signing off (snm-dkim-milter signs), clamd through the antivirus module
// when virusScanning is on. The sandbox adds: no DNS, no fuzzy storage
// lookups, rspamd's test patterns (GTUBE variants).
#pragma once

#include "config.hpp"
#include "deployment.hpp"
#include "rendered_file.hpp"

namespace snm::ctl {

// The user and group Debian's rspamd runs as.
inline constexpr const char* kRspamdUser = "_rspamd";

RenderedFiles render_rspamd(const Config& config, const Deployment& deployment, const std::string& controller_password);

// The sandbox's private clamd.conf and redis.conf.
RenderedFiles render_sandbox_services(const Config& config, const Deployment& deployment);

// The file holding the controller password (generated once by apply).
std::string controller_password_file(const Config& config);

}  // namespace snm::ctl
