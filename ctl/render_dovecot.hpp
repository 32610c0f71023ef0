// render_dovecot.hpp — dovecot.conf for the mail server snm.toml declares:
// IMAP/POP3 (STARTTLS and implicit TLS) per the enable* switches, LMTP
// delivery from Postfix, SASL for Postfix, accounts from the `snm` auth
// driver, maildirs with SNM's layout, special-use mailboxes, quota with the
// quota-status policy service, sieve and ManageSieve.
#pragma once

#include "config.hpp"
#include "deployment.hpp"
#include "rendered_file.hpp"

namespace snm::ctl {

RenderedFiles render_dovecot(const Config& config, const Deployment& deployment);

}  // namespace snm::ctl
