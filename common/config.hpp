// config.hpp — the snm.toml model: what a mail administrator declares.
//
// Option names and defaults are Simple NixOS Mailserver's (its `mailserver.*`
// options, written as top-level TOML keys), plus snm's own additions:
// `sendAs`, `stateDirectory`, and the `[dkim]` table with per-domain
// selectors. The loader (config_loader.hpp) fills this model and checks it;
// everything downstream (snapshots, rendered config) reads only this model.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace snm {

// Where a value stood in snm.toml, for diagnostics. Line and column are 1-based.
struct SourcePosition {
    std::uint32_t line = 0;
    std::uint32_t column = 0;
};

// SNM's certificateScheme: the administrator's files; one made on the spot;
// one snm obtains and renews itself through ACME (http-01, port 80);
// one another ACME client (certbot, lego) keeps, which snm deploys.
enum class CertificateScheme { Manual, SelfSigned, AcmeNginx, Acme };
enum class Canonicalization { Relaxed, Simple };
enum class DkimAlgorithm { Rsa, Ed25519 };
// What the milter answers when it cannot sign a message it should sign.
enum class DkimOnError { Tempfail, Accept };

struct LoginAccount {
    std::string address;             // lower case
    std::string hashedPassword;      // as written: crypt(3) or {SCHEME}hash
    std::string hashedPasswordFile;  // read by `snmctl apply`, never copied elsewhere
    std::vector<std::string> aliases;        // receive and send; "@domain" = whole domain
    std::vector<std::string> aliasesRegexp;  // Postfix regexp(5) patterns, receive and send
    std::vector<std::string> catchAll;       // domains; receive only
    std::vector<std::string> sendAs;         // send only
    std::optional<std::string> quota;        // Dovecot size: "2G", "500M"
    std::optional<std::string> sieveScript;  // script text
    bool sendOnly = false;
    std::string sendOnlyRejectMessage = "This account cannot receive emails.";
    SourcePosition position;
};

struct DkimSelector {
    std::string name;
    DkimAlgorithm algorithm = DkimAlgorithm::Rsa;
    unsigned keyBits = 0;   // RSA only
    std::string keyFile;    // absolute; defaults to <dkimKeyDirectory>/<domain>.<selector>.key
    SourcePosition position;
};

struct DkimDomain {
    std::string domain;
    std::vector<DkimSelector> selectors;
};

enum class MailboxAuto { No, Create, Subscribe };

struct SpecialMailbox {
    std::string name;
    MailboxAuto autoCreate = MailboxAuto::No;
    std::string specialUse;  // "Junk", "Trash", … or empty
};

// Brute-force protection of every login (IMAP, POP3, ManageSieve and SMTP
// AUTH, which Postfix hands to Dovecot): snm-policyd answers Dovecot's auth
// policy requests from per-address and per-account failure counts.
struct LoginThrottle {
    bool enable = true;
    unsigned maxFailures = 10;          // failed logins from one address within findTime before a ban
    unsigned findTime = 600;            // seconds
    unsigned banTime = 900;             // the first ban, seconds; each further ban doubles it
    unsigned maxBanTime = 86400;        // the longest ban, seconds
    unsigned accountMaxFailures = 100;  // failed logins on one account within findTime, from anywhere
    unsigned accountDelay = 15;         // seconds each further login on that account waits
    std::vector<std::string> allowNetworks;  // never throttled, beside dkim.internalNetworks
};

// Postfix's per-client limits (anvil), per client address and minute on
// every smtpd port; 0 = no limit. dkim.internalNetworks and allowNetworks
// are exempt.
struct ClientRateLimits {
    unsigned connections = 60;           // smtpd_client_connection_rate_limit
    unsigned concurrentConnections = 20; // smtpd_client_connection_count_limit (at once, not per minute)
    unsigned messages = 100;             // smtpd_client_message_rate_limit
    unsigned auths = 30;                 // smtpd_client_auth_rate_limit
    std::vector<std::string> allowNetworks;
};

struct Config {
    std::string sourceFile;  // path the model was loaded from

    // SNM's mailserver.enable: false = a valid file that `snmctl apply`
    // installs nothing from.
    bool enable = true;

    std::string fqdn;
    // The name Postfix gives in HELO/EHLO when it sends mail (smtp_helo_name),
    // for reverse DNS; default fqdn.
    std::string sendingFqdn;
    std::vector<std::string> domains;
    std::vector<LoginAccount> loginAccounts;
    // address -> login accounts receiving it (and allowed to send as it)
    std::map<std::string, std::vector<std::string>> extraVirtualAliases;
    // address -> destinations (external ones included); receive only
    std::map<std::string, std::vector<std::string>> forwards;
    std::vector<std::string> rejectSender;      // addresses or "@domain"
    std::vector<std::string> rejectRecipients;  // local addresses

    CertificateScheme certificateScheme = CertificateScheme::SelfSigned;
    std::string certificateFile;       // manual
    std::string keyFile;               // manual
    std::string certificateDirectory;  // selfsigned; default <stateDirectory>/certs
    std::string acmeEmail;             // acme-nginx: registration contact; default postmaster@<first domain>
    std::string acmeServer = "https://acme-v02.api.letsencrypt.org/directory";  // acme-nginx: directory URL
    std::vector<std::string> certificateDomains;  // acme-nginx: names on the certificate beside fqdn
    std::string acmeWebroot;           // acme-nginx: http-01 through this web server's root, not lego's listener
    std::string acmeCertificateName;   // acme: the other client's name for it; default fqdn
    std::string acmeCertificateDirectory = "/etc/letsencrypt/live";  // acme: <dir>/<name>/{fullchain,privkey}.pem

    bool enableImap = true;
    bool enableImapSsl = true;
    bool enablePop3 = false;
    bool enablePop3Ssl = false;
    bool enableSubmission = true;
    bool enableSubmissionSsl = true;
    bool enableManageSieve = false;
    bool virusScanning = false;

    bool dkimSigning = true;
    std::string dkimSelector = "mail";
    unsigned dkimKeyBits = 1024;
    std::string dkimKeyDirectory;  // default <stateDirectory>/dkim
    Canonicalization dkimHeaderCanonicalization = Canonicalization::Relaxed;
    Canonicalization dkimBodyCanonicalization = Canonicalization::Relaxed;
    // Per-domain selectors from [dkim.domains]; a signing domain without an
    // entry gets one RSA selector `dkimSelector` of `dkimKeyBits`.
    std::vector<DkimDomain> dkimDomains;
    DkimOnError dkimOnError = DkimOnError::Tempfail;
    // Clients whose mail is signed without SMTP AUTH (CIDR blocks or addresses).
    std::vector<std::string> dkimInternalNetworks = {"127.0.0.0/8", "::1/128"};

    std::string mailDirectory = "/var/vmail";
    std::string stateDirectory = "/var/lib/snm";
    unsigned vmailUID = 5000;
    std::string vmailUserName = "virtualMail";
    std::string vmailGroupName = "virtualMail";
    std::string hierarchySeparator = ".";
    bool useFsLayout = false;
    // Mailbox names on disk in UTF-8, not modified UTF-7 (Dovecot's
    // mail_location parameter :UTF-8).
    bool useUTF8FolderNames = false;
    std::vector<SpecialMailbox> mailboxes = {
        {"Trash", MailboxAuto::No, "Trash"},
        {"Junk", MailboxAuto::Subscribe, "Junk"},
        {"Drafts", MailboxAuto::Subscribe, "Drafts"},
        {"Sent", MailboxAuto::Subscribe, "Sent"},
    };
    std::string recipientDelimiter = "+";
    bool lmtpSaveToDetailMailbox = true;
    std::uint64_t messageSizeLimit = 20971520;
    LoginThrottle loginThrottle;
    // SMTP smuggling defence: a bare LF in SMTP is refused (SNM's option).
    bool smtpdForbidBareNewline = true;
    // The host part of a submitted message's Message-ID becomes fqdn, so it
    // does not reveal the client's host name (SNM's header_checks rule).
    bool rewriteMessageId = false;
    ClientRateLimits clientRateLimits;

    // Dovecot's limits, SNM's names and defaults: IMAP and POP3 connections
    // of one user from one address (mail_max_userip_connections), and the
    // memory of the imap, lmtp and quota-status processes in MB (their
    // services' vsz_limit; 0 = no limit).
    unsigned maxConnectionsPerUser = 100;
    unsigned imapMemoryLimit = 256;
    unsigned lmtpMemoryLimit = 256;
    unsigned quotaStatusMemoryLimit = 256;

    // The DKIM selectors in force for `domain` (explicit or the default one).
    std::vector<DkimSelector> selectors_for(const std::string& domain) const;
    // Where a selector without `keyFile` keeps its key:
    // <dkimKeyDirectory>/<domain>.<selector>.key.
    std::string default_dkim_key_file(const std::string& domain, const std::string& selector) const;
};

// A DNS name usable as a DKIM selector (RFC 6376 §3.1: sub-domain syntax).
bool is_valid_selector(std::string_view selector);

// The same configuration with every path snm writes (stateDirectory,
// mailDirectory, dkimKeyDirectory, certificateDirectory, DKIM key files)
// moved under `root`, for `snmctl apply --root DIR` and the sandbox. Paths
// of files the administrator provides (hashedPasswordFile, certificateFile,
// keyFile) are left as written.
Config rooted_at(Config config, const std::string& root);

const char* to_string(Canonicalization c);
const char* to_string(DkimAlgorithm a);
const char* to_string(CertificateScheme s);

}  // namespace snm
