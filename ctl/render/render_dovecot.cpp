// render_dovecot.cpp — see render_dovecot.hpp. Plain Dovecot 2.3 syntax,
// commented per block (note: nothing may follow `{` on a line).
#include "render_dovecot.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <thread>

#include "certificates.hpp"

namespace snm::ctl {

namespace {

const char* auto_setting(MailboxAuto a) {
    switch (a) {
    case MailboxAuto::No: return "no";
    case MailboxAuto::Create: return "create";
    case MailboxAuto::Subscribe: return "subscribe";
    }
    return "no";
}

// A service's vsz_limit from SNM's megabytes; 0 is Dovecot's "no limit".
std::string memory_limit(unsigned megabytes) {
    return megabytes == 0 ? std::string("0") : fmt::format("{}M", megabytes);
}

// An inet_listener on the deployment's address, or closed (port 0).
std::string inet_listener(const Deployment& d, const char* name, unsigned port, bool enabled, bool ssl) {
    return fmt::format("  inet_listener {} {{\n    address = {}\n    port = {}\n{}  }}\n", name,
                       d.listen_address.empty() ? "*, ::" : d.listen_address, enabled ? port : 0,
                       ssl ? "    ssl = yes\n" : "");
}

// The include holding the auth policy key (mode 0600: root only).
std::string auth_policy_key_conf(const Deployment& d) { return d.dovecot_dir + "/auth-policy.conf"; }

// loginThrottle: every login (IMAP, POP3, ManageSieve, and SMTP AUTH through
// Postfix) is checked with snm-policyd before the password is, and reported
// to it after. Only the login name, the client address and the protocol
// are sent — no password, no password hash.
std::string auth_policy(const Config& c, const Deployment& d) {
    if (!c.loginThrottle.enable) return "";
    return fmt::format(R"(# Brute-force protection (loginThrottle): snm-policyd counts failed logins
# per address and per account and refuses banned addresses before their
# password is checked. If it cannot be reached, logins go on (logged).
auth_policy_server_url = http://127.0.0.1:{port}/
auth_policy_request_attributes = login=%{{requested_username}} remote=%{{rip}} protocol=%s
# Dovecot requires a nonce; it salts a password hash that is never sent.
auth_policy_hash_nonce = snm-unused
auth_policy_reject_on_fail = no
auth_policy_check_before_auth = yes
auth_policy_check_after_auth = no
auth_policy_report_after_auth = yes
# The key snm-policyd wants (auth_policy_server_api_header), in a file only
# root reads.
!include {key_conf}

)",
                       fmt::arg("port", d.ports.auth_policy), fmt::arg("key_conf", auth_policy_key_conf(d)));
}

std::string dovecot_conf(const Config& c, const Deployment& d) {
    std::string out = rendered_header("Dovecot configuration", c.sourceFile);
    const auto tls = tls_paths(c);
    const auto accounts = c.stateDirectory + "/accounts.cdb";

    std::string protocols = "lmtp";
    if (c.enableImap || c.enableImapSsl) protocols += " imap";
    if (c.enablePop3 || c.enablePop3Ssl) protocols += " pop3";
    if (c.enableManageSieve) protocols += " sieve";

    out += fmt::format(R"(
protocols = {protocols}
hostname = {fqdn}
base_dir = {base}
state_dir = {state}
instance_name = {instance}
{listen}{log}
# TLS: required before any login (STARTTLS on 143/110, implicit on 993/995).
ssl = required
ssl_cert = <{cert}
ssl_key = <{key}
ssl_min_protocol = TLSv1.2
ssl_prefer_server_ciphers = yes
disable_plaintext_auth = yes
auth_mechanisms = plain login
# Password hashes are checked in auth-worker processes, one per core: more
# workers than cores only queue (bench/dovecot/RESULTS.md).
auth_worker_max_count = {workers}

{throttle}# Accounts come from snm's auth driver, reading the accounts snapshot that
# `snmctl apply` writes; a new snapshot is picked up within a second.
passdb {{
  driver = snm
  args = {accounts}
}}
userdb {{
  driver = snm
  args = {accounts}
}}

# Maildirs: {maildir}/<domain>/<user> (SNM's layout), owned by uid {uid}.
# The userdb gives each account its home, mail location and uid/gid.
first_valid_uid = {uid}
mail_uid = {uid}
mail_gid = {uid}
lda_mailbox_autocreate = yes
lda_mailbox_autosubscribe = yes

namespace inbox {{
  inbox = yes
  separator = {separator}
)",
                       fmt::arg("protocols", protocols), fmt::arg("fqdn", c.fqdn), fmt::arg("base", d.dovecot_base_dir),
                       fmt::arg("state", d.dovecot_state_dir),
                       fmt::arg("instance", d.sandbox ? "snm-sandbox" : "snm"),
                       fmt::arg("listen", d.listen_address.empty() ? "" : fmt::format("listen = {}\n", d.listen_address)),
                       fmt::arg("log", d.log_dir.empty() ? "" : fmt::format("log_path = {}/dovecot.log\n", d.log_dir)),
                       fmt::arg("workers", std::max(1u, std::thread::hardware_concurrency())),
                       fmt::arg("throttle", auth_policy(c, d)),
                       fmt::arg("cert", tls.certificate), fmt::arg("key", tls.key), fmt::arg("accounts", accounts),
                       fmt::arg("maildir", c.mailDirectory), fmt::arg("uid", c.vmailUID),
                       fmt::arg("separator", c.hierarchySeparator));
    for (const auto& mailbox : c.mailboxes) {
        out += fmt::format("  mailbox \"{}\" {{\n    auto = {}\n", mailbox.name, auto_setting(mailbox.autoCreate));
        if (!mailbox.specialUse.empty()) out += fmt::format("    special_use = \\{}\n", mailbox.specialUse);
        out += "  }\n";
    }
    out += "}\n";

    out += fmt::format(R"(
# Quota per account (quota = "2G" in snm.toml), and the quota-status policy
# service Postfix asks at RCPT time, so mail to a full mailbox is refused
# before it is accepted (no bounce later). Memory limits (vsz_limit; 0 is
# none) here and below: quotaStatusMemoryLimit, lmtpMemoryLimit and
# imapMemoryLimit.
mail_plugins = $mail_plugins quota
plugin {{
  quota = maildir:User quota
  quota_grace = 10%%
  quota_status_success = DUNNO
  quota_status_nouser = DUNNO
  quota_status_overquota = "552 5.2.2 Mailbox is full"
}}
service quota-status {{
  executable = quota-status -p postfix
  unix_listener snm-quota-status {{
    mode = 0660
    user = postfix
    group = postfix
  }}
  client_limit = 1
  vsz_limit = {quota_status_memory}
}}

# SASL for Postfix's submission service.
service auth {{
  unix_listener snm-auth {{
    mode = 0660
    user = postfix
    group = postfix
  }}
}}

# Delivery from Postfix: user+detail@ is filed into mailbox "detail" when
# lmtpSaveToDetailMailbox is on.
service lmtp {{
  unix_listener snm-lmtp {{
    mode = 0660
    user = postfix
    group = postfix
  }}
  vsz_limit = {lmtp_memory}
}}
recipient_delimiter = {delimiter}
lmtp_save_to_detail_mailbox = {detail}
protocol lmtp {{
  mail_plugins = $mail_plugins sieve
  postmaster_address = postmaster@{first_domain}
}}
# maxConnectionsPerUser: IMAP and POP3 connections of one user from one
# address, each protocol counted apart.
protocol imap {{
  mail_plugins = $mail_plugins imap_quota imap_sieve
  mail_max_userip_connections = {max_userip}
}}
protocol pop3 {{
  mail_max_userip_connections = {max_userip}
}}
service imap {{
  vsz_limit = {imap_memory}
}}

# Sieve: each account's own script (sieveScript, or one uploaded with
# ManageSieve), then snm's global script filing X-Spam: Yes into Junk;
# imapsieve teaches rspamd when mail is moved into or out of Junk.
plugin {{
  sieve = file:~/sieve;active=~/.dovecot.sieve
}}
!include sieve.conf

service imap-login {{
{imap}{imaps}}}
service pop3-login {{
{pop3}{pop3s}}}
service managesieve-login {{
{sieve}}}
)",
                       fmt::arg("quota_status_memory", memory_limit(c.quotaStatusMemoryLimit)),
                       fmt::arg("lmtp_memory", memory_limit(c.lmtpMemoryLimit)),
                       fmt::arg("imap_memory", memory_limit(c.imapMemoryLimit)),
                       fmt::arg("max_userip", c.maxConnectionsPerUser),
                       fmt::arg("delimiter", c.recipientDelimiter),
                       fmt::arg("detail", c.lmtpSaveToDetailMailbox ? "yes" : "no"),
                       fmt::arg("first_domain", c.domains.empty() ? c.fqdn : c.domains.front()),
                       fmt::arg("imap", inet_listener(d, "imap", d.ports.imap, c.enableImap, false)),
                       fmt::arg("imaps", inet_listener(d, "imaps", d.ports.imaps, c.enableImapSsl, true)),
                       fmt::arg("pop3", inet_listener(d, "pop3", d.ports.pop3, c.enablePop3, false)),
                       fmt::arg("pop3s", inet_listener(d, "pop3s", d.ports.pop3s, c.enablePop3Ssl, true)),
                       fmt::arg("sieve", inet_listener(d, "sieve", d.ports.managesieve, c.enableManageSieve, false)));
    return out;
}

}  // namespace

std::string auth_policy_key_file(const Config& config) { return config.stateDirectory + "/auth-policy.key"; }

RenderedFiles render_dovecot(const Config& config, const Deployment& deployment, const std::string& auth_policy_key) {
    RenderedFiles files = {{deployment.dovecot_dir + "/dovecot.conf", dovecot_conf(config, deployment), 0644}};
    if (config.loginThrottle.enable)
        files.push_back({auth_policy_key_conf(deployment),
                         rendered_header("Dovecot auth policy key", config.sourceFile) +
                             fmt::format("auth_policy_server_api_header = Authorization: Bearer {}\n", auth_policy_key),
                         0600});
    return files;
}

}  // namespace snm::ctl
