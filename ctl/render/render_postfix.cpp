// render_postfix.cpp — see render_postfix.hpp. The output is plain Postfix
// syntax with a comment on each block, so an administrator can read it and
// diff it between two `snmctl apply` runs.
#include "render_postfix.hpp"

#include "certificates.hpp"

#include <fmt/format.h>

namespace snm::ctl {

namespace {

// SNM strips these from mail its users submit: they reveal the client.
constexpr const char* kSubmissionHeaderCleanup =
    "/^Received:/            IGNORE\n"
    "/^X-Originating-IP:/    IGNORE\n"
    "/^X-Mailer:/            IGNORE\n"
    "/^User-Agent:/          IGNORE\n";

// The header_checks of submitted mail: kSubmissionHeaderCleanup, and with
// rewriteMessageId SNM's rule giving the Message-ID the server's name in
// place of the client's host (SNM's is PCRE, `<(.*?)@.*?>`; this is the
// same in regexp(5), which needs no postfix-pcre): the local part up to
// the first @ is kept.
std::string submission_header_cleanup(const Config& c) {
    std::string rules = kSubmissionHeaderCleanup;
    if (c.rewriteMessageId)
        rules += fmt::format("# rewriteMessageId: the host part of the Message-ID becomes {0}.\n"
                             "/^Message-ID:[[:space:]]*<([^@>]*)@[^>]*>/ REPLACE Message-ID: <$1@{0}>\n",
                             c.fqdn);
    return rules;
}

// CIDR networks in Postfix's notation: IPv6 addresses in brackets.
std::string postfix_networks(const std::vector<std::string>& networks) {
    std::string out;
    for (const auto& network : networks) {
        if (!out.empty()) out += ' ';
        const auto slash = network.find('/');  // a bare address has none
        if (network.find(':') != std::string::npos)
            out += fmt::format("[{}]{}", network.substr(0, slash),
                               slash == std::string::npos ? "" : network.substr(slash));
        else
            out += network;
    }
    return out;
}

std::string socketmap(const Deployment& d, const char* map) {
    return fmt::format("socketmap:unix:{}:{}", d.socketmap_socket(), map);
}

// "127.0.0.1:2525" in a sandbox, "submission" (the service name) on a system.
std::string listener(const Deployment& d, unsigned port, const char* service_name) {
    if (d.listen_address.empty()) return service_name;
    return fmt::format("{}:{}", d.listen_address, port);
}

std::string main_cf(const Config& c, const Deployment& d) {
    std::string out = rendered_header("Postfix main.cf", c.sourceFile);
    out += fmt::format(R"(
compatibility_level = 3.6
myhostname = {fqdn}
myorigin = $myhostname
# The name given in HELO when sending (sendingFqdn): the one this server's
# address resolves to in reverse DNS, which receivers compare.
smtp_helo_name = {sending_fqdn}
# All mail domains are virtual (below); nothing is delivered to Unix users.
mydestination =
# No local(8) delivery, so no /etc/aliases (and no NIS lookups).
alias_maps =
alias_database =
# Internal networks (dkim.internalNetworks): may relay without AUTH, and
# their mail is DKIM-signed.
mynetworks = {mynetworks}
biff = no
append_dot_mydomain = no
queue_directory = {queue}
data_directory = {data}
mail_owner = postfix
setgid_group = postdrop
message_size_limit = {size}
mailbox_size_limit = 0
recipient_delimiter = {delimiter}
)",
                       fmt::arg("fqdn", c.fqdn), fmt::arg("sending_fqdn", c.sendingFqdn),
                       fmt::arg("mynetworks", postfix_networks(c.dkimInternalNetworks)),
                       fmt::arg("queue", d.postfix_queue_dir),
                       fmt::arg("data", d.postfix_data_dir), fmt::arg("size", c.messageSizeLimit),
                       fmt::arg("delimiter", c.recipientDelimiter));

    if (d.sandbox) {
        out += fmt::format(R"(
# Sandbox: loopback only, no DNS, a private log file, fast retries, and every
# message for another domain relayed to the capture sink in {sink}.
inet_interfaces = {listen}
inet_protocols = ipv4
maillog_file = {log}/postfix.log
maillog_file_prefixes = {root}
smtp_dns_support_level = disabled
smtp_host_lookup = native
lmtp_host_lookup = native
relayhost = [127.0.0.1]:{sink_port}
queue_run_delay = 1s
minimal_backoff_time = 1s
maximal_backoff_time = 2s
smtpd_error_sleep_time = 0
in_flow_delay = 0
)",
                           fmt::arg("sink", d.sink_dir), fmt::arg("listen", d.listen_address),
                           fmt::arg("log", d.log_dir), fmt::arg("root", d.root),
                           fmt::arg("sink_port", d.ports.sink));
    } else {
        out += "\ninet_interfaces = all\ninet_protocols = all\n";
    }

    const auto tls = tls_paths(c);
    out += fmt::format(R"(
# TLS: offered on port 25, required on submission (see master.cf).
smtpd_tls_chain_files = {chain}
smtpd_tls_security_level = may
smtpd_tls_loglevel = 1
smtpd_tls_mandatory_protocols = >=TLSv1.2
smtpd_tls_protocols = >=TLSv1.2
smtp_tls_security_level = may
smtp_tls_loglevel = 1

# Domains, mailboxes and aliases come from snm-policyd, answering live from
# the routing snapshot: no postmap, no reload after `snmctl apply`.
virtual_mailbox_domains = {domains}
virtual_mailbox_maps = {mailboxes}
virtual_alias_maps = {aliases}
# Empty on purpose: all virtual domains are mailbox domains, and an alias
# domain list would make trivial-rewrite query the alias map for bare names.
virtual_alias_domains =
virtual_transport = lmtp:unix:{lmtp}

# SASL through Dovecot; enabled per service in master.cf.
smtpd_sasl_type = dovecot
smtpd_sasl_path = {sasl}
smtpd_sasl_auth_enable = no
smtpd_sasl_security_options = noanonymous
smtpd_tls_auth_only = yes

# snm-policyd's checks; if it cannot answer, mail waits (451), it is never
# let through unchecked. The sender check is the one place that decides
# which login may use which envelope sender (own address, aliases, sendAs,
# extraVirtualAliases): there is no smtpd_sender_login_maps.
snm_sender_policy = check_policy_service {{ unix:{policy}, policy_context=sender, timeout=10s, {{ default_action = 451 4.3.5 snm-policyd unavailable }} }}
snm_recipient_policy = check_policy_service {{ unix:{policy}, policy_context=recipient, timeout=10s, {{ default_action = 451 4.3.5 snm-policyd unavailable }} }}

# Port 25: never an open relay; unknown recipients refused at RCPT (550, no
# backscatter); snm-policyd for rejectSender, send-only accounts and
# rejectRecipients; Dovecot's quota-status refuses mail for full mailboxes.
smtpd_helo_required = yes
# SMTP smuggling (postfix.org/smtp-smuggling.html): a bare LF ends no line,
# so "<LF>.<LF>" cannot end DATA early and smuggle a second message; a
# client sending one gets 550 (smtpdForbidBareNewline). Internal networks
# are exempt, as Postfix recommends.
smtpd_forbid_bare_newline = {bare_newline}
smtpd_forbid_bare_newline_exclusions = $mynetworks
# No address harvesting: VRFY would tell a stranger which addresses exist.
disable_vrfy_command = yes
# Per-client limits (clientRateLimits), counted by anvil per client address
# and minute; 0 is no limit. Internal networks and
# clientRateLimits.allowNetworks are exempt.
anvil_rate_time_unit = 60s
smtpd_client_connection_rate_limit = {connection_rate}
smtpd_client_connection_count_limit = {connection_count}
smtpd_client_message_rate_limit = {message_rate}
smtpd_client_auth_rate_limit = {auth_rate}
smtpd_client_event_limit_exceptions = $mynetworks{rate_allow}
smtpd_relay_restrictions = permit_mynetworks, permit_sasl_authenticated, reject_unauth_destination
smtpd_sender_restrictions = $snm_sender_policy
smtpd_recipient_restrictions =
    reject_non_fqdn_recipient,
    reject_unlisted_recipient,
    $snm_recipient_policy,
    check_policy_service unix:{quota}
)",
                       fmt::arg("chain", tls.postfix_chain_files),
                       fmt::arg("domains", socketmap(d, "domains")), fmt::arg("mailboxes", socketmap(d, "mailboxes")),
                       fmt::arg("aliases", socketmap(d, "aliases")),
                       fmt::arg("lmtp", d.lmtp_socket()), fmt::arg("sasl", d.sasl_socket()),
                       fmt::arg("policy", d.policy_socket()), fmt::arg("quota", d.quota_status_socket()),
                       fmt::arg("bare_newline", c.smtpdForbidBareNewline ? "reject" : "no"),
                       fmt::arg("connection_rate", c.clientRateLimits.connections),
                       fmt::arg("connection_count", c.clientRateLimits.concurrentConnections),
                       fmt::arg("message_rate", c.clientRateLimits.messages),
                       fmt::arg("auth_rate", c.clientRateLimits.auths),
                       fmt::arg("rate_allow", c.clientRateLimits.allowNetworks.empty()
                                                  ? std::string()
                                                  : " " + postfix_networks(c.clientRateLimits.allowNetworks)));

    out += fmt::format(R"(
# Milters: rspamd scans (see master.cf), snm-dkim-milter signs. The signer
# decides from what Postfix tells it: {{auth_authen}} (a SASL login), the
# client address (dkim.internalNetworks), and local submission (sendmail,
# which Postfix presents as localhost, port 0); every unsigned message is
# logged with the reason. If a milter is down, mail waits (tempfail).
milter_protocol = 6
milter_default_action = tempfail
milter_mail_macros = i {{auth_type}} {{auth_authen}} {{auth_author}} {{mail_addr}} {{mail_host}} {{mail_mailer}}
milter_end_of_data_macros = i
non_smtpd_milters = {milter}
)",
                       fmt::arg("milter", c.dkimSigning ? "unix:" + d.milter_socket() : ""));
    return out;
}

std::string master_cf(const Config& c, const Deployment& d) {
    std::string out = rendered_header("Postfix master.cf", c.sourceFile);
    out += R"(
# service type  private unpriv  chroot  wakeup  maxproc command + args
#               (yes)   (yes)   (no)    (never) (100)
)";
    // Mail is scanned (spam headers, rejects, viruses), then signed when it
    // is outgoing (the signer passes inbound mail unsigned).
    const std::string rspamd = "unix:" + d.rspamd_proxy_socket();
    const std::string milter = c.dkimSigning ? rspamd + ",unix:" + d.milter_socket() : rspamd;
    out += fmt::format("# MX: mail from the Internet; internal networks' mail is signed too.\n"
                       "{:<15} inet  n       -       n       -       -       smtpd\n  -o smtpd_milters={}\n",
                       listener(d, d.ports.smtp, "smtp"), milter);
    // Submission checks quota too: a full local mailbox is refused at RCPT
    // rather than bounced after the client has gone.
    const auto submission_options = [&](bool wrapper) {
        std::string o;
        o += fmt::format("  -o syslog_name=postfix/{}\n", wrapper ? "submissions" : "submission");
        if (wrapper) o += "  -o smtpd_tls_wrappermode=yes\n";
        o += "  -o smtpd_tls_security_level=encrypt\n"
             "  -o smtpd_sasl_auth_enable=yes\n"
             "  -o smtpd_client_restrictions=permit_sasl_authenticated,reject\n"
             "  -o smtpd_relay_restrictions=permit_sasl_authenticated,reject\n"
             "  -o smtpd_sender_restrictions=reject_non_fqdn_sender,$snm_sender_policy\n"
             "  -o smtpd_recipient_restrictions=reject_non_fqdn_recipient,check_policy_service,unix:" +
                 d.quota_status_socket() + ",permit_sasl_authenticated,reject\n"
             "  -o cleanup_service_name=submission-header-cleanup\n";
        o += fmt::format("  -o smtpd_milters={}\n", milter);
        return o;
    };
    if (c.enableSubmission)
        out += fmt::format("# Submission with STARTTLS and SASL; the sender must belong to the login.\n"
                           "{:<15} inet  n       -       n       -       -       smtpd\n{}",
                           listener(d, d.ports.submission, "submission"), submission_options(false));
    if (c.enableSubmissionSsl)
        out += fmt::format("# Submission over implicit TLS.\n{:<15} inet  n       -       n       -       -       smtpd\n{}",
                           listener(d, d.ports.submissions, "submissions"), submission_options(true));
    out += fmt::format(R"(# Strips headers revealing the submitting client (as SNM does).
submission-header-cleanup unix n - n    -       0       cleanup
  -o header_checks=regexp:{dir}/submission_header_cleanup_rules
pickup    unix  n       -       n       60      1       pickup
cleanup   unix  n       -       n       -       0       cleanup
qmgr      unix  n       -       n       300     1       qmgr
tlsmgr    unix  -       -       n       1000?   1       tlsmgr
rewrite   unix  -       -       n       -       -       trivial-rewrite
bounce    unix  -       -       n       -       0       bounce
defer     unix  -       -       n       -       0       bounce
trace     unix  -       -       n       -       0       bounce
verify    unix  -       -       n       -       1       verify
flush     unix  n       -       n       1000?   0       flush
proxymap  unix  -       -       n       -       -       proxymap
proxywrite unix -       -       n       -       1       proxymap
smtp      unix  -       -       n       -       -       smtp
relay     unix  -       -       n       -       -       smtp
showq     unix  n       -       n       -       -       showq
error     unix  -       -       n       -       -       error
retry     unix  -       -       n       -       -       error
discard   unix  -       -       n       -       -       discard
local     unix  -       n       n       -       -       local
virtual   unix  -       n       n       -       -       virtual
lmtp      unix  -       -       n       -       -       lmtp
anvil     unix  -       -       n       -       1       anvil
scache    unix  -       -       n       -       1       scache
postlog   unix-dgram n  -       n       -       1       postlogd
)",
                       fmt::arg("dir", d.postfix_dir));
    return out;
}

}  // namespace

RenderedFiles render_postfix(const Config& config, const Deployment& deployment) {
    return {
        {deployment.postfix_dir + "/main.cf", main_cf(config, deployment), 0644},
        {deployment.postfix_dir + "/master.cf", master_cf(config, deployment), 0644},
        {deployment.postfix_dir + "/submission_header_cleanup_rules",
         rendered_header("Postfix header_checks for submission", config.sourceFile) + submission_header_cleanup(config),
         0644},
    };
}

}  // namespace snm::ctl
