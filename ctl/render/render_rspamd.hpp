// render_rspamd.hpp — rspamd's configuration for snm, in its own directory
// (not the distribution's /etc/rspamd files, which it includes): the proxy
// worker in milter mode for Postfix, the controller for learning, Redis for
// Bayes, SNM's extended spam headers and `X-Spam: Yes`, rspamd's own DKIM
// signing off (snm-dkim-milter signs), clamd through the antivirus module
// when virusScanning is on. The sandbox adds: no DNS, no fuzzy storage
// lookups, rspamd's test patterns (GTUBE variants).
#pragma once

#include "config.hpp"
#include "deployment.hpp"
#include "rendered_file.hpp"

namespace snm::ctl {

RenderedFiles render_rspamd(const Config& config, const Deployment& deployment, const std::string& controller_password);

// The sandbox's private clamd.conf and redis.conf.
RenderedFiles render_sandbox_services(const Config& config, const Deployment& deployment);

// The file holding the controller password (generated once by apply).
std::string controller_password_file(const Config& config);

}  // namespace snm::ctl
