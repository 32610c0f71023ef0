// render_dovecot.hpp — dovecot.conf for the mail server snm.toml declares:
// IMAP/POP3 (STARTTLS and implicit TLS) per the enable* switches, LMTP
// delivery from Postfix, SASL for Postfix, accounts from the `snm` auth
// driver, maildirs with SNM's layout, special-use mailboxes, quota with the
// quota-status policy service, sieve and ManageSieve, login throttling by
// snm-policyd's auth policy service.
#pragma once

#include "config.hpp"
#include "deployment.hpp"
#include "rendered_file.hpp"

namespace snm::ctl {

// `auth_policy_key`: the key Dovecot sends snm-policyd's auth policy
// service; it goes into a file only root reads (auth-policy.conf).
RenderedFiles render_dovecot(const Config& config, const Deployment& deployment, const std::string& auth_policy_key);

// Where snmctl keeps that key, for snm-policyd's --auth-policy-key-file.
std::string auth_policy_key_file(const Config& config);

}  // namespace snm::ctl
