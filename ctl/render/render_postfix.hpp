// render_postfix.hpp — Postfix main.cf and master.cf for the mail server
// snm.toml declares, wired as SNM wires its stack: port 25 (MX), submission
// 587 and 465, LMTP into Dovecot, snm-policyd for the maps and the policy
// checks, Dovecot's quota-status, the DKIM milter on outgoing mail.
#pragma once

#include "config.hpp"
#include "deployment.hpp"
#include "rendered_file.hpp"

namespace snm::ctl {

RenderedFiles render_postfix(const Config& config, const Deployment& deployment);

}  // namespace snm::ctl
