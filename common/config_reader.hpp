// config_reader.hpp — the reader of snm.toml behind config_loader.hpp,
// shared by the files that read its sections and by no one else:
// config_loader.cpp (the top level, in its fixed order, and the checks of
// the whole file), config_accounts.cpp (login accounts, aliases,
// forwards), config_dkim.cpp ([dkim], its domains and selectors) and
// config_limits.cpp ([loginThrottle], [clientRateLimits]).
//
// One pass over the TOML document in a fixed order (fqdn and domains first,
// so later checks can ask "is this domain ours?"; accounts before the
// aliases that point at them), then the unknown keys. Claims on addresses
// are recorded as they are read, so a duplicate names both places.
#pragma once

#define TOML_EXCEPTIONS 1
#include <algorithm>
#include <functional>
#include <map>
#include <span>
#include <toml++/toml.h>
#include <fmt/format.h>

#include "address.hpp"
#include "config_loader.hpp"
#include "network_list.hpp"

namespace snm::config_reading {

// maxConnectionsPerUser: Dovecot counts connections per user and address;
// more than this from one address is no mail client but a leak or a flood.
constexpr std::uint64_t kMaxConnectionsPerUser = 100000;
// A Dovecot service's memory limit (vsz_limit, in MB): below the minimum a
// process barely gets through start-up (an imap process with snm's plugins
// maps about 10 MB on Debian 12 before it opens a mailbox); the maximum is
// 1 TB.
constexpr std::uint64_t kMinServiceMemoryMb = 16;
constexpr std::uint64_t kMaxServiceMemoryMb = std::uint64_t{1} << 20;

inline SourcePosition position_of(const toml::source_region& region) {
    return {region.begin.line, region.begin.column};
}

inline const char* type_name(toml::node_type type) {
    switch (type) {
    case toml::node_type::string: return "a string";
    case toml::node_type::integer: return "an integer";
    case toml::node_type::floating_point: return "a number";
    case toml::node_type::boolean: return "a boolean";
    case toml::node_type::table: return "a table";
    case toml::node_type::array: return "an array";
    case toml::node_type::date: return "a date";
    case toml::node_type::time: return "a time";
    case toml::node_type::date_time: return "a date-time";
    default: return "nothing";
    }
}

// Who holds an address (or a whole domain), for "claimed twice" errors.
struct Claim {
    std::string holder;  // "login account", "an alias of user1@example.com", …
    SourcePosition position;
};

class Loader {
public:
    Loader(std::string file, Config& config, std::vector<Diagnostic>& out)
        : file_(std::move(file)), config_(config), out_(out) {}

    void load(const toml::table& root);

private:
    using Reader = void (Loader::*)(const toml::node&);
    struct Option {
        std::string_view name;
        Reader read;
    };

    // --- reporting --------------------------------------------------------
    void error(SourcePosition at, std::string message) {
        out_.push_back({Severity::Error, file_, at, std::move(message)});
    }
    void warning(SourcePosition at, std::string message) {
        out_.push_back({Severity::Warning, file_, at, std::move(message)});
    }
    void error(const toml::node& node, std::string message) { error(position_of(node.source()), std::move(message)); }

    void unknown_key(const toml::key& key, std::string_view where, const std::vector<std::string_view>& known) {
        const auto suggestion = nearest_name(key.str(), known);
        error(position_of(key.source()),
              suggestion.empty()
                  ? fmt::format("unknown option `{}` in {}", key.str(), where)
                  : fmt::format("unknown option `{}` in {}; did you mean `{}`?", key.str(), where, suggestion));
    }

    // --- typed values -------------------------------------------------------
    std::optional<std::string> string_value(const toml::node& node, std::string_view name) {
        if (auto s = node.as_string()) return s->get();
        error(node, fmt::format("`{}` must be a string, not {}", name, type_name(node.type())));
        return std::nullopt;
    }
    std::optional<bool> bool_value(const toml::node& node, std::string_view name) {
        if (auto b = node.as_boolean()) return b->get();
        error(node, fmt::format("`{}` must be true or false, not {}", name, type_name(node.type())));
        return std::nullopt;
    }
    std::optional<std::uint64_t> unsigned_value(const toml::node& node, std::string_view name,
                                                std::uint64_t min, std::uint64_t max) {
        auto i = node.as_integer();
        if (!i) {
            error(node, fmt::format("`{}` must be an integer, not {}", name, type_name(node.type())));
            return std::nullopt;
        }
        if (i->get() < static_cast<std::int64_t>(min) || static_cast<std::uint64_t>(i->get()) > max) {
            error(node, fmt::format("`{}` is {}; expected a value from {} to {}", name, i->get(), min, max));
            return std::nullopt;
        }
        return static_cast<std::uint64_t>(i->get());
    }
    // A list of strings; each element is handed to `each` with its position.
    void string_list(const toml::node& node, std::string_view name,
                     const std::function<void(std::string, SourcePosition)>& each) {
        auto array = node.as_array();
        if (!array) {
            error(node, fmt::format("`{}` must be a list of strings, not {}", name, type_name(node.type())));
            return;
        }
        for (auto& element : *array)
            if (auto s = string_value(element, fmt::format("{} element", name)))
                each(std::move(*s), position_of(element.source()));
    }
    // A string or a list of strings (extraVirtualAliases, forwards values).
    void one_or_more_strings(const toml::node& node, std::string_view name,
                             const std::function<void(std::string, SourcePosition)>& each) {
        if (auto s = node.as_string()) each(s->get(), position_of(node.source()));
        else if (node.is_array()) string_list(node, name, each);
        else error(node, fmt::format("`{}` must be a string or a list of strings, not {}", name, type_name(node.type())));
    }
    // A list of CIDR blocks or addresses, each checked by the parser the
    // daemons use; replaces `out`.
    void network_list(const toml::node& node, std::string_view name, std::vector<std::string>& out) {
        out.clear();
        string_list(node, name, [&](std::string network, SourcePosition pos) {
            if (NetworkList().add(network))
                out.push_back(std::move(network));
            else
                error(pos, fmt::format("`{}` in `{}` is not an IP address or CIDR block; expected e.g. "
                                       "\"192.0.2.0/24\", \"2001:db8::/32\" or \"192.0.2.1\"",
                                       network, name));
        });
    }
    std::optional<std::string> absolute_path(const toml::node& node, std::string_view name) {
        auto path = string_value(node, name);
        if (path && (path->empty() || path->front() != '/')) {
            error(node, fmt::format("`{}` must be an absolute path, not `{}`", name, *path));
            return std::nullopt;
        }
        return path;
    }

    // --- domain checks --------------------------------------------------------
    bool is_our_domain(std::string_view domain) const {
        return std::find(config_.domains.begin(), config_.domains.end(), domain) != config_.domains.end();
    }
    std::string domain_list() const {
        std::string list;
        for (auto& d : config_.domains) list += (list.empty() ? "" : ", ") + d;
        return list.empty() ? "(none declared)" : list;
    }
    // A local address: valid syntax and a domain in `domains`. Lower-cased.
    std::optional<std::string> local_address(std::string text, SourcePosition at, std::string_view what) {
        lower_in_place(text);
        if (!is_valid_address(text)) {
            error(at, fmt::format("{} `{}` is not a valid e-mail address; expected local-part@domain", what, text));
            return std::nullopt;
        }
        if (!is_our_domain(domain_of(text))) {
            error(at, fmt::format("{} `{}` is in domain `{}`, which is not in `domains` ({}); add the domain "
                                  "to `domains` or fix the address",
                                  what, text, domain_of(text), domain_list()));
            return std::nullopt;
        }
        return text;
    }
    // "@domain" (a whole local domain) or a local address.
    std::optional<std::string> local_address_or_domain(std::string text, SourcePosition at, std::string_view what) {
        if (text.starts_with('@')) {
            lower_in_place(text);
            const auto domain = std::string_view(text).substr(1);
            if (!is_valid_domain(domain)) {
                error(at, fmt::format("{} `{}` is not a valid `@domain`", what, text));
                return std::nullopt;
            }
            if (!is_our_domain(domain)) {
                error(at, fmt::format("{} `{}` names domain `{}`, which is not in `domains` ({})", what, text,
                                      domain, domain_list()));
                return std::nullopt;
            }
            return text;
        }
        return local_address(std::move(text), at, what);
    }

    // Records that `holder` receives mail for `address` ("@domain" for a
    // whole domain); reports a second claim naming both holders.
    void claim(const std::string& address, std::string holder, SourcePosition at) {
        auto [it, inserted] = claims_.try_emplace(address, Claim{holder, at});
        if (!inserted)
            error(at, fmt::format("`{}` is claimed twice: as {} here, and as {} at line {}; "
                                  "an address can belong to one place only",
                                  address, holder, it->second.holder, it->second.position.line));
    }

    // --- options ----------------------------------------------------------------
    void read_fqdn(const toml::node& node) {
        if (auto fqdn = string_value(node, "fqdn")) {
            lower_in_place(*fqdn);
            if (!is_valid_domain(*fqdn))
                error(node, fmt::format("`fqdn` `{}` is not a fully qualified host name; expected e.g. mail.example.com", *fqdn));
            config_.fqdn = *fqdn;
        }
    }
    void read_sending_fqdn(const toml::node& node) {
        if (auto name = string_value(node, "sendingFqdn")) {
            lower_in_place(*name);
            if (!is_valid_domain(*name))
                error(node, fmt::format("`sendingFqdn` `{}` is not a fully qualified host name; expected the name "
                                        "this server's address resolves to in reverse DNS, e.g. myserver.example.com",
                                        *name));
            else config_.sendingFqdn = *name;
        }
    }
    void read_domains(const toml::node& node) {
        string_list(node, "domains", [&](std::string domain, SourcePosition at) {
            lower_in_place(domain);
            if (!is_valid_domain(domain)) {
                error(at, fmt::format("`{}` is not a valid domain name; expected e.g. example.com", domain));
                return;
            }
            if (is_our_domain(domain)) {
                error(at, fmt::format("domain `{}` is listed twice in `domains`", domain));
                return;
            }
            config_.domains.push_back(domain);
        });
        if (config_.domains.empty() && node.is_array())
            error(node, "`domains` is empty; list at least one domain this server receives mail for");
    }
    void read_login_accounts(const toml::node& node);
    void read_login_account(const toml::key& key, const toml::node& node);
    void read_extra_virtual_aliases(const toml::node& node);
    void read_forwards(const toml::node& node);
    void read_reject_sender(const toml::node& node) {
        string_list(node, "rejectSender", [&](std::string entry, SourcePosition at) {
            lower_in_place(entry);
            const bool ok = entry.starts_with('@') ? is_valid_domain(std::string_view(entry).substr(1))
                                                   : is_valid_address(entry);
            if (!ok) error(at, fmt::format("rejectSender entry `{}` is neither an address nor `@domain`", entry));
            else config_.rejectSender.push_back(entry);
        });
    }
    void read_reject_recipients(const toml::node& node) {
        string_list(node, "rejectRecipients", [&](std::string entry, SourcePosition at) {
            if (auto address = local_address(std::move(entry), at, "rejectRecipients entry"))
                config_.rejectRecipients.push_back(*address);
        });
    }
    void read_certificate_scheme(const toml::node& node);
    void read_certificate_file(const toml::node& node) {
        if (auto p = absolute_path(node, "certificateFile")) config_.certificateFile = *p;
    }
    void read_key_file(const toml::node& node) {
        if (auto p = absolute_path(node, "keyFile")) config_.keyFile = *p;
    }
    void read_certificate_directory(const toml::node& node) {
        if (auto p = absolute_path(node, "certificateDirectory")) config_.certificateDirectory = *p;
    }
    void read_acme_email(const toml::node& node) {
        if (auto e = string_value(node, "acmeEmail")) {
            if (!is_valid_address(*e)) error(node, fmt::format("`acmeEmail` `{}` is not an e-mail address", *e));
            config_.acmeEmail = *e;
        }
    }
    void read_acme_server(const toml::node& node) {
        if (auto s = string_value(node, "acmeServer")) {
            if (!s->starts_with("https://")) error(node, "`acmeServer` must be an https:// ACME directory URL");
            config_.acmeServer = *s;
        }
    }
    void read_certificate_domains(const toml::node& node) {
        string_list(node, "certificateDomains", [&](std::string name, SourcePosition at) {
            lower_in_place(name);
            if (!is_valid_domain(name)) error(at, fmt::format("`certificateDomains` entry `{}` is not a host name", name));
            else config_.certificateDomains.push_back(name);
        });
    }
    void read_acme_webroot(const toml::node& node) {
        if (auto p = absolute_path(node, "acmeWebroot")) config_.acmeWebroot = *p;
    }
    void read_acme_certificate_name(const toml::node& node) {
        if (auto name = string_value(node, "acmeCertificateName")) {
            if (name->empty() || name->find('/') != std::string::npos || name->starts_with('.'))
                error(node, fmt::format("`acmeCertificateName` `{}` is not a certificate name (a file name, "
                                        "e.g. the fqdn)", *name));
            else config_.acmeCertificateName = *name;
        }
    }
    void read_acme_certificate_directory(const toml::node& node) {
        if (auto p = absolute_path(node, "acmeCertificateDirectory")) config_.acmeCertificateDirectory = *p;
    }
    template <bool Config::*Field>
    void read_flag(const toml::node& node) {
        if (auto b = bool_value(node, current_option_)) config_.*Field = *b;
    }
    void read_dkim_selector(const toml::node& node) {
        if (auto s = string_value(node, "dkimSelector")) {
            if (!is_valid_selector(*s)) error(node, fmt::format("`dkimSelector` `{}` is not a valid DNS label", *s));
            config_.dkimSelector = *s;
        }
    }
    void read_dkim_key_bits(const toml::node& node) {
        if (auto bits = unsigned_value(node, "dkimKeyBits", 1024, 8192)) config_.dkimKeyBits = static_cast<unsigned>(*bits);
    }
    void read_dkim_key_directory(const toml::node& node) {
        if (auto p = absolute_path(node, "dkimKeyDirectory")) config_.dkimKeyDirectory = *p;
    }
    std::optional<Canonicalization> canonicalization(const toml::node& node, std::string_view name) {
        auto s = string_value(node, name);
        if (!s) return std::nullopt;
        if (*s == "relaxed") return Canonicalization::Relaxed;
        if (*s == "simple") return Canonicalization::Simple;
        error(node, fmt::format("`{}` is `{}`; expected \"relaxed\" or \"simple\"", name, *s));
        return std::nullopt;
    }
    void read_header_canonicalization(const toml::node& node) {
        if (auto c = canonicalization(node, "dkimHeaderCanonicalization")) config_.dkimHeaderCanonicalization = *c;
    }
    void read_body_canonicalization(const toml::node& node) {
        if (auto c = canonicalization(node, "dkimBodyCanonicalization")) config_.dkimBodyCanonicalization = *c;
    }
    void read_dkim_table(const toml::node& node);
    void read_dkim_domain(const toml::key& key, const toml::node& node);
    std::optional<DkimSelector> read_dkim_selector(const toml::node& node, const std::string& domain);
    void read_mail_directory(const toml::node& node) {
        if (auto p = absolute_path(node, "mailDirectory")) config_.mailDirectory = *p;
    }
    void read_state_directory(const toml::node& node) {
        if (auto p = absolute_path(node, "stateDirectory")) config_.stateDirectory = *p;
    }
    void read_vmail_uid(const toml::node& node) {
        // uid 0 would make every mailbox root's; below 100 are system users.
        if (auto uid = unsigned_value(node, "vmailUID", 100, 4294967294u)) config_.vmailUID = static_cast<unsigned>(*uid);
    }
    void read_user_name(const toml::node& node, std::string& field, std::string_view name) {
        if (auto s = string_value(node, name)) {
            const bool ok = !s->empty() && s->size() <= 32 &&
                            std::all_of(s->begin(), s->end(), [](char c) {
                                return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-' || c == '.';
                            });
            if (!ok) error(node, fmt::format("`{}` `{}` is not a valid user or group name", name, *s));
            field = *s;
        }
    }
    void read_vmail_user_name(const toml::node& node) { read_user_name(node, config_.vmailUserName, "vmailUserName"); }
    void read_vmail_group_name(const toml::node& node) { read_user_name(node, config_.vmailGroupName, "vmailGroupName"); }
    void read_hierarchy_separator(const toml::node& node) {
        if (auto s = string_value(node, "hierarchySeparator")) {
            if (s->size() != 1 || std::isalnum(static_cast<unsigned char>((*s)[0])))
                error(node, fmt::format("`hierarchySeparator` is `{}`; expected one punctuation character such as \".\" or \"/\"", *s));
            else config_.hierarchySeparator = *s;
        }
    }
    void read_mailboxes(const toml::node& node);
    void read_recipient_delimiter(const toml::node& node) {
        if (auto s = string_value(node, "recipientDelimiter")) {
            for (char c : *s)
                if (std::isalnum(static_cast<unsigned char>(c)) || c == '@' || c == '.' || std::isspace(static_cast<unsigned char>(c))) {
                    error(node, fmt::format("`recipientDelimiter` `{}` contains `{}`; expected characters such as \"+\" or \"-\"", *s, c));
                    return;
                }
            config_.recipientDelimiter = *s;
        }
    }
    void read_lmtp_save_to_detail_mailbox(const toml::node& node) {
        // SNM takes "yes"/"no"; a boolean is accepted too.
        if (auto b = node.as_boolean()) { config_.lmtpSaveToDetailMailbox = b->get(); return; }
        if (auto s = node.as_string()) {
            if (s->get() == "yes") { config_.lmtpSaveToDetailMailbox = true; return; }
            if (s->get() == "no") { config_.lmtpSaveToDetailMailbox = false; return; }
        }
        error(node, "`lmtpSaveToDetailMailbox` must be \"yes\", \"no\", true or false");
    }
    void read_max_connections_per_user(const toml::node& node) {
        if (auto n = unsigned_value(node, "maxConnectionsPerUser", 1, kMaxConnectionsPerUser))
            config_.maxConnectionsPerUser = static_cast<unsigned>(*n);
    }
    // imapMemoryLimit, lmtpMemoryLimit, quotaStatusMemoryLimit: MB, 0 = no limit.
    template <unsigned Config::*Field>
    void read_memory_limit(const toml::node& node) {
        auto n = node.as_integer();
        if (!n) {
            error(node, fmt::format("`{}` must be an integer (MB), not {}", current_option_, type_name(node.type())));
            return;
        }
        const auto mb = n->get();
        if (mb != 0 && (mb < static_cast<std::int64_t>(kMinServiceMemoryMb) ||
                        mb > static_cast<std::int64_t>(kMaxServiceMemoryMb))) {
            error(node, fmt::format("`{}` is {}; expected 0 (no limit) or a size in MB from {} to {}", current_option_,
                                    mb, kMinServiceMemoryMb, kMaxServiceMemoryMb));
            return;
        }
        config_.*Field = static_cast<unsigned>(mb);
    }
    void read_message_size_limit(const toml::node& node) {
        if (auto n = unsigned_value(node, "messageSizeLimit", 1024, std::uint64_t{1} << 40)) config_.messageSizeLimit = *n;
    }

    // --- tables ---------------------------------------------------------------
    // One key of a table and its reader: every table below the top level is
    // read through a list of these. `name` is the key as written; the reader
    // gets the value and the key's qualified name for messages.
    template <class Target>
    struct Field {
        std::string_view name;
        std::function<void(Loader&, Target&, const toml::node& value, const std::string& qualified)> read;
    };
    // Reads every key of `table` into `target`: a known one with its Field
    // (qualified as `prefix`.key, or the key alone with no prefix), any
    // other as an error naming the known ones and `where` the table is.
    template <class Target>
    void read_fields(const toml::table& table, std::string_view where, std::string_view prefix, Target& target,
                     std::span<const Field<Target>> fields) {
        for (auto& [key, value] : table) {
            const std::string_view name = key.str();  // clang 14 cannot capture a structured binding
            const auto field = std::find_if(fields.begin(), fields.end(), [&](const auto& f) { return f.name == name; });
            if (field == fields.end()) {
                std::vector<std::string_view> known;
                for (const auto& f : fields) known.push_back(f.name);
                unknown_key(key, where, known);
                continue;
            }
            field->read(*this, target, value, prefix.empty() ? std::string(name) : fmt::format("{}.{}", prefix, name));
        }
    }
    // Readers of plain values into a member of the table's target.
    template <class Target>
    static Field<Target> flag_field(std::string_view name, bool Target::*member) {
        return {name, [member](Loader& l, Target& t, const toml::node& v, const std::string& q) {
                    if (auto b = l.bool_value(v, q)) t.*member = *b;
                }};
    }
    template <class Target>
    static Field<Target> unsigned_field(std::string_view name, unsigned Target::*member, std::uint64_t min,
                                        std::uint64_t max) {
        return {name, [member, min, max](Loader& l, Target& t, const toml::node& v, const std::string& q) {
                    if (auto n = l.unsigned_value(v, q, min, max)) t.*member = static_cast<unsigned>(*n);
                }};
    }
    template <class Target>
    static Field<Target> networks_field(std::string_view name, std::vector<std::string> Target::*member) {
        return {name, [member](Loader& l, Target& t, const toml::node& v, const std::string& q) {
                    l.network_list(v, q, t.*member);
                }};
    }
    // The table `node` must be, or an error saying what it must be.
    const toml::table* table_of(const toml::node& node, std::string_view must_be) {
        auto table = node.as_table();
        if (!table) error(node, std::string(must_be));
        return table;
    }

    // A login account's settings, read field by field.
    void read_account_password(LoginAccount& account, const toml::node& value);
    void read_account_password_file(LoginAccount& account, const toml::node& value);
    void read_account_aliases(LoginAccount& account, const toml::node& value);
    void read_account_catch_all(LoginAccount& account, const toml::node& value);
    static const std::vector<Field<LoginAccount>>& account_fields();

    // One entry of dkim.domains."D".selectors, and whether it is usable.
    struct SelectorEntry {
        DkimSelector selector;
        std::string domain;
        bool ok = true;
    };
    static const std::vector<Field<SelectorEntry>>& selector_fields();
    struct MailboxEntry {
        SpecialMailbox mailbox;
        bool junk = false;
    };
    static const std::vector<Field<MailboxEntry>>& mailbox_fields();

    void read_login_throttle(const toml::node& node);
    void read_client_rate_limits(const toml::node& node);
    void check_whole();

    static const std::vector<Option>& options();
    static std::vector<std::string_view> option_names();

    std::string file_;
    Config& config_;
    std::vector<Diagnostic>& out_;
    std::string_view current_option_;
    std::map<std::string, Claim> claims_;
    std::map<std::string, SourcePosition> account_positions_;
    bool dkim_key_directory_set_ = false;
    bool certificate_directory_set_ = false;
};

}  // namespace snm::config_reading
