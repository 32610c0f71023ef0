// config_loader.cpp — see config_loader.hpp; the reader itself is
// config_reader.hpp. Here: the top-level options in their order, the
// checks of the whole file, the mailboxes, and reading the file.
#include "config_reader.hpp"

#include <array>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>

namespace snm {

namespace config_reading {

// The order matters: see the file comment.
const std::vector<Loader::Option>& Loader::options() {
    static const std::vector<Option> table = {
        {"enable", &Loader::read_flag<&Config::enable>},
        {"fqdn", &Loader::read_fqdn},
        {"sendingFqdn", &Loader::read_sending_fqdn},
        {"domains", &Loader::read_domains},
        {"stateDirectory", &Loader::read_state_directory},
        {"mailDirectory", &Loader::read_mail_directory},
        {"recipientDelimiter", &Loader::read_recipient_delimiter},
        {"loginAccounts", &Loader::read_login_accounts},
        {"extraVirtualAliases", &Loader::read_extra_virtual_aliases},
        {"forwards", &Loader::read_forwards},
        {"rejectSender", &Loader::read_reject_sender},
        {"rejectRecipients", &Loader::read_reject_recipients},
        {"certificateScheme", &Loader::read_certificate_scheme},
        {"certificateFile", &Loader::read_certificate_file},
        {"keyFile", &Loader::read_key_file},
        {"certificateDirectory", &Loader::read_certificate_directory},
        {"acmeEmail", &Loader::read_acme_email},
        {"acmeServer", &Loader::read_acme_server},
        {"certificateDomains", &Loader::read_certificate_domains},
        {"acmeWebroot", &Loader::read_acme_webroot},
        {"acmeCertificateName", &Loader::read_acme_certificate_name},
        {"acmeCertificateDirectory", &Loader::read_acme_certificate_directory},
        {"enableImap", &Loader::read_flag<&Config::enableImap>},
        {"enableImapSsl", &Loader::read_flag<&Config::enableImapSsl>},
        {"enablePop3", &Loader::read_flag<&Config::enablePop3>},
        {"enablePop3Ssl", &Loader::read_flag<&Config::enablePop3Ssl>},
        {"enableSubmission", &Loader::read_flag<&Config::enableSubmission>},
        {"enableSubmissionSsl", &Loader::read_flag<&Config::enableSubmissionSsl>},
        {"enableManageSieve", &Loader::read_flag<&Config::enableManageSieve>},
        {"virusScanning", &Loader::read_flag<&Config::virusScanning>},
        {"dkimSigning", &Loader::read_flag<&Config::dkimSigning>},
        {"dkimSelector", &Loader::read_dkim_selector},
        {"dkimKeyBits", &Loader::read_dkim_key_bits},
        {"dkimKeyDirectory", &Loader::read_dkim_key_directory},
        {"dkimHeaderCanonicalization", &Loader::read_header_canonicalization},
        {"dkimBodyCanonicalization", &Loader::read_body_canonicalization},
        {"dkim", &Loader::read_dkim_table},
        {"vmailUID", &Loader::read_vmail_uid},
        {"vmailUserName", &Loader::read_vmail_user_name},
        {"vmailGroupName", &Loader::read_vmail_group_name},
        {"hierarchySeparator", &Loader::read_hierarchy_separator},
        {"useFsLayout", &Loader::read_flag<&Config::useFsLayout>},
        {"useUTF8FolderNames", &Loader::read_flag<&Config::useUTF8FolderNames>},
        {"mailboxes", &Loader::read_mailboxes},
        {"lmtpSaveToDetailMailbox", &Loader::read_lmtp_save_to_detail_mailbox},
        {"messageSizeLimit", &Loader::read_message_size_limit},
        {"loginThrottle", &Loader::read_login_throttle},
        {"smtpdForbidBareNewline", &Loader::read_flag<&Config::smtpdForbidBareNewline>},
        {"clientRateLimits", &Loader::read_client_rate_limits},
        {"rewriteMessageId", &Loader::read_flag<&Config::rewriteMessageId>},
        {"maxConnectionsPerUser", &Loader::read_max_connections_per_user},
        {"imapMemoryLimit", &Loader::read_memory_limit<&Config::imapMemoryLimit>},
        {"lmtpMemoryLimit", &Loader::read_memory_limit<&Config::lmtpMemoryLimit>},
        {"quotaStatusMemoryLimit", &Loader::read_memory_limit<&Config::quotaStatusMemoryLimit>},
    };
    return table;
}

std::vector<std::string_view> Loader::option_names() {
    std::vector<std::string_view> names;
    for (auto& option : options()) names.push_back(option.name);
    return names;
}

void Loader::load(const toml::table& root) {
    for (auto& option : options()) {
        if (auto node = root.get(option.name)) {
            current_option_ = option.name;
            (this->*option.read)(*node);
            if (option.name == "dkimKeyDirectory") dkim_key_directory_set_ = true;
            if (option.name == "certificateDirectory") certificate_directory_set_ = true;
        }
    }
    const auto names = option_names();
    for (auto& [key, node] : root)
        if (std::find(names.begin(), names.end(), key.str()) == names.end())
            unknown_key(key, "the top level", names);

    if (!root.get("fqdn")) error(SourcePosition{1, 1}, "`fqdn` is missing; set it to this server's host name, e.g. fqdn = \"mail.example.com\"");
    if (!root.get("domains")) error(SourcePosition{1, 1}, "`domains` is missing; list the domains this server receives mail for");

    if (!dkim_key_directory_set_) config_.dkimKeyDirectory = config_.stateDirectory + "/dkim";
    if (!certificate_directory_set_) config_.certificateDirectory = config_.stateDirectory + "/certs";
    if (config_.acmeCertificateName.empty()) config_.acmeCertificateName = config_.fqdn;
    if (config_.sendingFqdn.empty()) config_.sendingFqdn = config_.fqdn;
    // lego registers an account only with a contact; RFC 5321 makes postmaster one.
    if (config_.acmeEmail.empty() && !config_.domains.empty()) config_.acmeEmail = "postmaster@" + config_.domains.front();
    for (auto& domain : config_.dkimDomains)
        for (auto& selector : domain.selectors)
            if (selector.keyFile.empty())
                selector.keyFile = config_.default_dkim_key_file(domain.domain, selector.name);
    check_whole();
}

// SNM's names, and its old numbers with a warning naming the new spelling
// (1 manual, 2 selfsigned, 3 acme-nginx, as SNM maps them).
void Loader::read_certificate_scheme(const toml::node& node) {
    static const std::array<std::pair<std::string_view, CertificateScheme>, 4> schemes = {{
        {"manual", CertificateScheme::Manual},
        {"selfsigned", CertificateScheme::SelfSigned},
        {"acme-nginx", CertificateScheme::AcmeNginx},
        {"acme", CertificateScheme::Acme},
    }};
    if (auto number = node.as_integer()) {
        const auto n = number->get();
        if (n < 1 || n > 3) {
            error(node, fmt::format("`certificateScheme` {} is not one of SNM's numbers 1, 2, 3; write \"manual\", "
                                    "\"selfsigned\", \"acme-nginx\" or \"acme\"", n));
            return;
        }
        const auto& [name, scheme] = schemes[static_cast<std::size_t>(n - 1)];
        warning(position_of(node.source()),
                fmt::format("`certificateScheme = {}` is deprecated (as in SNM); write `certificateScheme = \"{}\"`", n, name));
        config_.certificateScheme = scheme;
        return;
    }
    auto name = string_value(node, "certificateScheme");
    if (!name) return;
    for (const auto& [known, scheme] : schemes)
        if (*name == known) {
            config_.certificateScheme = scheme;
            return;
        }
    error(node, fmt::format("`certificateScheme` is `{}`; expected \"manual\", \"selfsigned\", \"acme-nginx\" or \"acme\"", *name));
}

const std::vector<Loader::Field<Loader::MailboxEntry>>& Loader::mailbox_fields() {
    static const std::vector<Field<MailboxEntry>> fields = {
        {"auto", [](Loader& l, MailboxEntry& e, const toml::node& v, const std::string& q) {
             auto s = l.string_value(v, q);
             if (!s) return;
             if (*s == "no") e.mailbox.autoCreate = MailboxAuto::No;
             else if (*s == "create") e.mailbox.autoCreate = MailboxAuto::Create;
             else if (*s == "subscribe") e.mailbox.autoCreate = MailboxAuto::Subscribe;
             else l.error(v, fmt::format("`auto` is `{}`; expected \"no\", \"create\" or \"subscribe\"", *s));
         }},
        {"specialUse", [](Loader& l, MailboxEntry& e, const toml::node& v, const std::string& q) {
             static const std::vector<std::string_view> uses = {"All", "Archive", "Drafts", "Flagged", "Junk", "Sent", "Trash"};
             auto s = l.string_value(v, q);
             if (!s) return;
             if (std::find(uses.begin(), uses.end(), *s) == uses.end())
                 l.error(v, fmt::format("`specialUse` `{}` is not an RFC 6154 special use; expected one of "
                                        "All, Archive, Drafts, Flagged, Junk, Sent, Trash", *s));
             else e.mailbox.specialUse = *s;
             if (*s == "Junk") e.junk = true;
         }},
    };
    return fields;
}

void Loader::read_mailboxes(const toml::node& node) {
    auto table = table_of(node, "`mailboxes` must be a table: Name = { auto = \"subscribe\", specialUse = \"Junk\" }");
    if (!table) return;
    config_.mailboxes.clear();
    int junk = 0;
    for (auto& [key, value] : *table) {
        auto settings = table_of(value, fmt::format("mailbox `{}` must be a table: {{ auto = …, specialUse = … }}", key.str()));
        if (!settings) continue;
        MailboxEntry entry{{std::string(key.str()), MailboxAuto::No, ""}};
        read_fields<MailboxEntry>(*settings, fmt::format("mailbox `{}`", key.str()), "", entry, mailbox_fields());
        junk += entry.junk;
        config_.mailboxes.push_back(std::move(entry.mailbox));
    }
    if (junk != 1)
        error(node, fmt::format("`mailboxes` has {} mailboxes with specialUse = \"Junk\"; expected exactly one "
                                "(spam is filed there and learning watches it)", junk));
}

// Checks that need the whole file.
void Loader::check_whole() {
    if (config_.certificateScheme == CertificateScheme::Manual &&
        (config_.certificateFile.empty() || config_.keyFile.empty()))
        error(SourcePosition{1, 1}, "certificateScheme \"manual\" needs `certificateFile` and `keyFile`");
    if (config_.certificateScheme != CertificateScheme::AcmeNginx && !config_.certificateDomains.empty())
        warning(SourcePosition{1, 1}, "`certificateDomains` is used only by certificateScheme \"acme-nginx\"");
    if (config_.stateDirectory == config_.mailDirectory)
        error(SourcePosition{1, 1}, "`stateDirectory` and `mailDirectory` must differ");
}

}  // namespace config_reading

using config_reading::Loader;
using config_reading::position_of;

LoadedConfig load_config_text(std::string_view text, const std::string& source_name) {
    LoadedConfig loaded;
    Config config;
    config.sourceFile = source_name;
    toml::table root;
    try {
        root = toml::parse(text, source_name);
    } catch (const toml::parse_error& e) {
        loaded.diagnostics.push_back({Severity::Error, source_name, position_of(e.source()),
                                      fmt::format("not valid TOML: {}", e.description())});
        return loaded;
    }
    Loader(source_name, config, loaded.diagnostics).load(root);
    if (!has_errors(loaded.diagnostics)) loaded.config = std::move(config);
    return loaded;
}

LoadedConfig load_config_file(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) {
        LoadedConfig loaded;
        loaded.diagnostics.push_back({Severity::Error, path, {}, fmt::format("cannot open: {}", std::strerror(errno))});
        return loaded;
    }
    // Read straight into one string: a stringstream and its str() copy held
    // the text twice, 450 MB more at peak for a file of 1,000,000 accounts
    // (bench/snapshot). A pipe has no size to reserve; it grows as it is read.
    std::string text;
    std::error_code no_size;
    if (const auto size = std::filesystem::file_size(path, no_size); !no_size) text.reserve(size);
    std::array<char, 1 << 16> chunk;
    while (in.read(chunk.data(), chunk.size()) || in.gcount() > 0)
        text.append(chunk.data(), static_cast<std::size_t>(in.gcount()));
    return load_config_text(text, path);
}

}  // namespace snm
