// config_loader.cpp — see config_loader.hpp.
//
// One pass over the TOML document in a fixed order (fqdn and domains first,
// so later checks can ask "is this domain ours?"; accounts before the
// aliases that point at them), then the unknown keys. Claims on addresses
// are recorded as they are read, so a duplicate names both places.
#include "config_loader.hpp"

#define TOML_EXCEPTIONS 1
#include <sys/stat.h>
#include <regex.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <set>
#include <span>
#include <toml++/toml.h>
#include <fmt/format.h>

#include "address.hpp"
#include "network_list.hpp"
#include "password_hash.hpp"

namespace snm {

namespace {

SourcePosition position_of(const toml::source_region& region) {
    return {region.begin.line, region.begin.column};
}

const char* type_name(toml::node_type type) {
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

// Dovecot size syntax: digits, an optional unit k/M/G/T, an optional "B".
bool is_valid_quota(std::string_view quota) {
    std::size_t i = 0;
    while (i < quota.size() && quota[i] >= '0' && quota[i] <= '9') ++i;
    if (i == 0) return false;
    auto rest = quota.substr(i);
    if (!rest.empty() && std::string_view("kKmMgGtT").find(rest.front()) != std::string_view::npos)
        rest.remove_prefix(1);
    if (!rest.empty() && (rest.front() == 'B' || rest.front() == 'b')) rest.remove_prefix(1);
    return rest.empty();
}

// Postfix regexp(5) form: /pattern/flags.
std::optional<std::string> regexp_problem(const std::string& entry) {
    if (entry.size() < 2 || entry.front() != '/') return "expected the Postfix regexp form `/pattern/`";
    const auto close = entry.rfind('/');
    if (close == 0) return "the pattern has no closing `/`";
    for (char flag : entry.substr(close + 1))
        if (flag != 'i' && flag != 'x' && flag != 'm')
            return fmt::format("unknown regexp flag `{}`; Postfix accepts i, x and m", flag);
    const std::string pattern = entry.substr(1, close - 1);
    regex_t compiled;
    const int rc = regcomp(&compiled, pattern.c_str(), REG_EXTENDED | REG_ICASE | REG_NOSUB);
    if (rc != 0) {
        char message[256];
        regerror(rc, &compiled, message, sizeof message);
        return fmt::format("the pattern does not compile: {}", message);
    }
    regfree(&compiled);
    return std::nullopt;
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

// The order matters: see the file comment.
const std::vector<Loader::Option>& Loader::options() {
    static const std::vector<Option> table = {
        {"fqdn", &Loader::read_fqdn},
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
        {"mailboxes", &Loader::read_mailboxes},
        {"lmtpSaveToDetailMailbox", &Loader::read_lmtp_save_to_detail_mailbox},
        {"messageSizeLimit", &Loader::read_message_size_limit},
        {"loginThrottle", &Loader::read_login_throttle},
        {"smtpdForbidBareNewline", &Loader::read_flag<&Config::smtpdForbidBareNewline>},
        {"clientRateLimits", &Loader::read_client_rate_limits},
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
    for (auto& domain : config_.dkimDomains)
        for (auto& selector : domain.selectors)
            if (selector.keyFile.empty())
                selector.keyFile = config_.default_dkim_key_file(domain.domain, selector.name);
    check_whole();
}

void Loader::read_login_accounts(const toml::node& node) {
    auto table = node.as_table();
    if (!table) {
        error(node, fmt::format("`loginAccounts` must be a table of accounts keyed by address, not {}", type_name(node.type())));
        return;
    }
    for (auto& [key, account] : *table) read_login_account(key, account);
}

const std::vector<Loader::Field<LoginAccount>>& Loader::account_fields() {
    static const std::vector<Field<LoginAccount>> fields = {
        {"hashedPassword", [](Loader& l, LoginAccount& a, const toml::node& v, const std::string&) {
             l.read_account_password(a, v);
         }},
        {"hashedPasswordFile", [](Loader& l, LoginAccount& a, const toml::node& v, const std::string&) {
             l.read_account_password_file(a, v);
         }},
        {"aliases", [](Loader& l, LoginAccount& a, const toml::node& v, const std::string&) {
             l.read_account_aliases(a, v);
         }},
        {"aliasesRegexp", [](Loader& l, LoginAccount& a, const toml::node& v, const std::string& q) {
             l.string_list(v, q, [&](std::string pattern, SourcePosition pos) {
                 if (auto problem = regexp_problem(pattern)) l.error(pos, fmt::format("aliasesRegexp `{}`: {}", pattern, *problem));
                 else a.aliasesRegexp.push_back(pattern);
             });
         }},
        {"catchAll", [](Loader& l, LoginAccount& a, const toml::node& v, const std::string&) {
             l.read_account_catch_all(a, v);
         }},
        {"sendAs", [](Loader& l, LoginAccount& a, const toml::node& v, const std::string& q) {
             l.string_list(v, q, [&](std::string address, SourcePosition pos) {
                 if (auto s = l.local_address_or_domain(std::move(address), pos, "sendAs address")) a.sendAs.push_back(*s);
             });
         }},
        {"quota", [](Loader& l, LoginAccount& a, const toml::node& v, const std::string& q) {
             if (auto quota = l.string_value(v, q)) {
                 if (!is_valid_quota(*quota))
                     l.error(v, fmt::format("quota `{}` of `{}` is not a size; expected a number with an optional unit k, M, G or T, e.g. \"2G\" or \"500M\"",
                                            *quota, a.address));
                 a.quota = *quota;
             }
         }},
        {"sieveScript", [](Loader& l, LoginAccount& a, const toml::node& v, const std::string& q) {
             if (auto script = l.string_value(v, q)) a.sieveScript = *script;
         }},
        flag_field("sendOnly", &LoginAccount::sendOnly),
        {"sendOnlyRejectMessage", [](Loader& l, LoginAccount& a, const toml::node& v, const std::string& q) {
             if (auto message = l.string_value(v, q)) {
                 if (message->find_first_of("\r\n") != std::string::npos)
                     l.error(v, "`sendOnlyRejectMessage` must be one line (it is sent as an SMTP reply)");
                 a.sendOnlyRejectMessage = *message;
             }
         }},
        {"name", [](Loader& l, LoginAccount& a, const toml::node& v, const std::string& q) {
             // SNM derives the address from the attribute name; accept it when it agrees.
             if (auto n = l.string_value(v, q); n && to_lower(*n) != a.address)
                 l.error(v, fmt::format("`name` `{}` differs from the account's key `{}`; remove `name`", *n, a.address));
         }},
    };
    return fields;
}

void Loader::read_login_account(const toml::key& key, const toml::node& node) {
    const auto at = position_of(key.source());
    auto address = local_address(std::string(key.str()), at, "login account");
    auto table = table_of(node, fmt::format("login account `{}` must be a table of settings, not {}", key.str(),
                                            type_name(node.type())));
    if (!table) return;
    LoginAccount account;
    account.address = address.value_or(to_lower(key.str()));
    account.position = at;
    if (address) {
        if (account_positions_.count(*address))
            error(at, fmt::format("login account `{}` is declared twice (first at line {}); addresses are not case-sensitive",
                                  *address, account_positions_[*address].line));
        else
            claim(*address, "a login account", at);
        account_positions_[*address] = at;
    }
    read_fields<LoginAccount>(*table, fmt::format("login account `{}`", account.address), "", account, account_fields());
    if (account.hashedPassword.empty() && account.hashedPasswordFile.empty())
        error(at, fmt::format("login account `{}` has no password; set `hashedPassword` (from `snmctl passwd`) or `hashedPasswordFile`",
                              account.address));
    if (!account.hashedPassword.empty() && !account.hashedPasswordFile.empty())
        error(at, fmt::format("login account `{}` sets both `hashedPassword` and `hashedPasswordFile`; keep one", account.address));
    config_.loginAccounts.push_back(std::move(account));
}

void Loader::read_account_password(LoginAccount& account, const toml::node& value) {
    auto hash = string_value(value, "hashedPassword");
    if (!hash) return;
    auto stored = dovecot_password(*hash);
    if (!stored) error(value, fmt::format("`hashedPassword` of `{}`: {}", account.address, stored.error().message));
    else if (is_cleartext_scheme(*stored))
        warning(position_of(value.source()), fmt::format("`hashedPassword` of `{}` stores the password in clear text", account.address));
    account.hashedPassword = *hash;
}

// The file must be a regular file, not world-readable, holding a hash
// Dovecot can verify on its first line.
void Loader::read_account_password_file(LoginAccount& account, const toml::node& value) {
    auto path = absolute_path(value, "hashedPasswordFile");
    if (!path) return;
    account.hashedPasswordFile = *path;
    struct stat st {};
    if (::stat(path->c_str(), &st) != 0) {
        error(value, fmt::format("`hashedPasswordFile` `{}` of `{}` cannot be read: {}", *path, account.address, std::strerror(errno)));
    } else if (!S_ISREG(st.st_mode)) {
        error(value, fmt::format("`hashedPasswordFile` `{}` is not a regular file", *path));
    } else if (st.st_mode & S_IROTH) {
        error(value, fmt::format("`hashedPasswordFile` `{}` is readable by every user; run `chmod o-rwx {}`", *path, *path));
    } else {
        std::ifstream in(*path);
        std::string line;
        if (!in || !std::getline(in, line))
            error(value, fmt::format("`hashedPasswordFile` `{}` cannot be read or is empty", *path));
        else if (auto stored = dovecot_password(line); !stored)
            error(value, fmt::format("`hashedPasswordFile` `{}`: {}", *path, stored.error().message));
    }
}

void Loader::read_account_aliases(LoginAccount& account, const toml::node& value) {
    const std::string owner = fmt::format("an alias of {}", account.address);
    string_list(value, "aliases", [&](std::string alias, SourcePosition pos) {
        if (auto a = local_address_or_domain(std::move(alias), pos, "alias")) {
            claim(*a, owner, pos);
            account.aliases.push_back(*a);
        }
    });
}

void Loader::read_account_catch_all(LoginAccount& account, const toml::node& value) {
    string_list(value, "catchAll", [&](std::string domain, SourcePosition pos) {
        lower_in_place(domain);
        if (!is_our_domain(domain)) {
            error(pos, fmt::format("catchAll domain `{}` of `{}` is not in `domains` ({})", domain, account.address, domain_list()));
            return;
        }
        claim("@" + domain, fmt::format("the catch-all of {}", account.address), pos);
        account.catchAll.push_back(domain);
    });
}

void Loader::read_extra_virtual_aliases(const toml::node& node) {
    auto table = node.as_table();
    if (!table) {
        error(node, "`extraVirtualAliases` must be a table: \"address\" = \"account\" or [\"account\", …]");
        return;
    }
    for (auto& [key, value] : *table) {
        const auto at = position_of(key.source());
        auto alias = local_address_or_domain(std::string(key.str()), at, "extraVirtualAliases address");
        std::vector<std::string> targets;
        one_or_more_strings(value, "extraVirtualAliases target", [&](std::string target, SourcePosition pos) {
            lower_in_place(target);
            if (!account_positions_.count(target)) {
                error(pos, fmt::format("extraVirtualAliases target `{}` is not a login account; extraVirtualAliases "
                                       "point at accounts (use `forwards` for other destinations)", target));
                return;
            }
            targets.push_back(target);
        });
        if (!alias) continue;
        claim(*alias, "an extraVirtualAliases entry", at);
        config_.extraVirtualAliases[*alias] = std::move(targets);
    }
}

void Loader::read_forwards(const toml::node& node) {
    auto table = node.as_table();
    if (!table) {
        error(node, "`forwards` must be a table: \"address\" = \"destination\" or [\"destination\", …]");
        return;
    }
    for (auto& [key, value] : *table) {
        const auto at = position_of(key.source());
        auto address = local_address(std::string(key.str()), at, "forwards address");
        std::vector<std::string> destinations;
        one_or_more_strings(value, "forwards destination", [&](std::string destination, SourcePosition pos) {
            lower_in_place(destination);
            if (!is_valid_address(destination)) {
                error(pos, fmt::format("forwards destination `{}` is not a valid e-mail address", destination));
                return;
            }
            destinations.push_back(destination);
        });
        if (!address) continue;
        // A forward on a login account keeps the local copy (SNM): not a clash.
        if (!account_positions_.count(*address)) claim(*address, "a forward", at);
        config_.forwards[*address] = std::move(destinations);
    }
}

void Loader::read_certificate_scheme(const toml::node& node) {
    if (auto number = node.as_integer()) {
        static const char* names[] = {"", "manual", "selfsigned", "acme"};
        const auto n = number->get();
        if (n < 1 || n > 3) {
            error(node, fmt::format("`certificateScheme` {} is not one of SNM's numbers 1, 2, 3; write \"manual\", \"selfsigned\" or \"acme\"", n));
            return;
        }
        warning(position_of(node.source()),
                fmt::format("`certificateScheme = {}` is deprecated (as in SNM); write `certificateScheme = \"{}\"`", n, names[n]));
        config_.certificateScheme = n == 1 ? CertificateScheme::Manual : n == 2 ? CertificateScheme::SelfSigned : CertificateScheme::Acme;
        return;
    }
    auto name = string_value(node, "certificateScheme");
    if (!name) return;
    if (*name == "manual") config_.certificateScheme = CertificateScheme::Manual;
    else if (*name == "selfsigned") config_.certificateScheme = CertificateScheme::SelfSigned;
    else if (*name == "acme" || *name == "acme-nginx") config_.certificateScheme = CertificateScheme::Acme;
    else error(node, fmt::format("`certificateScheme` is `{}`; expected \"manual\", \"selfsigned\" or \"acme\"", *name));
}

void Loader::read_dkim_table(const toml::node& node) {
    auto table = table_of(node, "`dkim` must be a table ([dkim])");
    if (!table) return;
    static const std::vector<Field<Config>> fields = {
        {"onError", [](Loader& l, Config& c, const toml::node& v, const std::string& q) {
             if (auto s = l.string_value(v, q)) {
                 if (*s == "tempfail") c.dkimOnError = DkimOnError::Tempfail;
                 else if (*s == "accept") c.dkimOnError = DkimOnError::Accept;
                 else l.error(v, fmt::format("`dkim.onError` is `{}`; expected \"tempfail\" or \"accept\"", *s));
             }
         }},
        networks_field("internalNetworks", &Config::dkimInternalNetworks),
        {"domains", [](Loader& l, Config&, const toml::node& v, const std::string&) {
             if (auto domains = l.table_of(v, "`dkim.domains` must be a table keyed by domain"))
                 for (auto& [domain, entry] : *domains) l.read_dkim_domain(domain, entry);
         }},
    };
    read_fields<Config>(*table, "[dkim]", "dkim", config_, fields);
}

void Loader::read_login_throttle(const toml::node& node) {
    auto table = table_of(node, "`loginThrottle` must be a table ([loginThrottle])");
    if (!table) return;
    static constexpr std::uint64_t kWeek = 7 * 86400;
    static const std::vector<Field<LoginThrottle>> fields = {
        flag_field("enable", &LoginThrottle::enable),
        unsigned_field("maxFailures", &LoginThrottle::maxFailures, 1, 100000),
        unsigned_field("findTime", &LoginThrottle::findTime, 1, kWeek),
        unsigned_field("banTime", &LoginThrottle::banTime, 1, kWeek),
        unsigned_field("maxBanTime", &LoginThrottle::maxBanTime, 1, kWeek),
        unsigned_field("accountMaxFailures", &LoginThrottle::accountMaxFailures, 1, 1000000),
        // Dovecot's auth clients wait about a minute at most.
        unsigned_field("accountDelay", &LoginThrottle::accountDelay, 0, 60),
        networks_field("allowNetworks", &LoginThrottle::allowNetworks),
    };
    auto& throttle = config_.loginThrottle;
    read_fields<LoginThrottle>(*table, "[loginThrottle]", "loginThrottle", throttle, fields);
    if (throttle.banTime > throttle.maxBanTime)
        error(node, fmt::format("`loginThrottle.banTime` ({} s) is longer than `loginThrottle.maxBanTime` ({} s)",
                                throttle.banTime, throttle.maxBanTime));
}

void Loader::read_client_rate_limits(const toml::node& node) {
    auto table = table_of(node, "`clientRateLimits` must be a table ([clientRateLimits])");
    if (!table) return;
    // Postfix's anvil counts per client address and minute; 0 turns a limit off.
    static const std::vector<Field<ClientRateLimits>> fields = {
        unsigned_field("connections", &ClientRateLimits::connections, 0, 100000),
        unsigned_field("concurrentConnections", &ClientRateLimits::concurrentConnections, 0, 10000),
        unsigned_field("messages", &ClientRateLimits::messages, 0, 100000),
        unsigned_field("auths", &ClientRateLimits::auths, 0, 100000),
        networks_field("allowNetworks", &ClientRateLimits::allowNetworks),
    };
    read_fields<ClientRateLimits>(*table, "[clientRateLimits]", "clientRateLimits", config_.clientRateLimits, fields);
}

void Loader::read_dkim_domain(const toml::key& key, const toml::node& node) {
    const std::string domain = to_lower(key.str());
    if (!is_our_domain(domain)) {
        error(position_of(key.source()), fmt::format("[dkim.domains] names `{}`, which is not in `domains` ({})", domain, domain_list()));
        return;
    }
    auto table = table_of(node, fmt::format("`dkim.domains.\"{}\"` must be a table with `selectors`", domain));
    if (!table) return;
    struct DomainEntry {
        DkimDomain domain;
        bool any_listed = false;  // a listed but bad selector has its own error
    };
    static const std::vector<Field<DomainEntry>> fields = {
        {"selectors", [](Loader& l, DomainEntry& e, const toml::node& v, const std::string&) {
             auto selectors = v.as_array();
             if (!selectors) {
                 l.error(v, "`selectors` must be a list of tables: [{ name = \"…\", algorithm = \"rsa\" | \"ed25519\" }]");
                 return;
             }
             for (auto& item : *selectors) {
                 e.any_listed = true;
                 auto selector = l.read_dkim_selector(item, e.domain.domain);
                 if (!selector) continue;
                 const bool duplicate = std::any_of(e.domain.selectors.begin(), e.domain.selectors.end(),
                                                    [&](const DkimSelector& s) { return s.name == selector->name; });
                 if (duplicate) l.error(item, fmt::format("selector `{}` is listed twice for `{}`", selector->name, e.domain.domain));
                 else e.domain.selectors.push_back(*selector);
             }
         }},
    };
    DomainEntry entry{{domain, {}}};
    read_fields<DomainEntry>(*table, fmt::format("[dkim.domains.\"{}\"]", domain), "", entry, fields);
    if (entry.domain.selectors.empty() && !entry.any_listed) {
        error(node, fmt::format("[dkim.domains.\"{}\"] has no selectors; add one or remove the table to use `dkimSelector`", domain));
        return;
    }
    config_.dkimDomains.push_back(std::move(entry.domain));
}

const std::vector<Loader::Field<Loader::SelectorEntry>>& Loader::selector_fields() {
    static const std::vector<Field<SelectorEntry>> fields = {
        {"name", [](Loader& l, SelectorEntry& e, const toml::node& v, const std::string& q) {
             auto name = l.string_value(v, q);
             if (name && is_valid_selector(*name)) e.selector.name = *name;
             else {
                 if (name) l.error(v, fmt::format("selector name `{}` is not a valid DNS label", *name));
                 e.ok = false;
             }
         }},
        {"algorithm", [](Loader& l, SelectorEntry& e, const toml::node& v, const std::string& q) {
             auto algorithm = l.string_value(v, q);
             if (algorithm && *algorithm == "rsa") e.selector.algorithm = DkimAlgorithm::Rsa;
             else if (algorithm && *algorithm == "ed25519") e.selector.algorithm = DkimAlgorithm::Ed25519;
             else {
                 if (algorithm) l.error(v, fmt::format("algorithm `{}`; expected \"rsa\" or \"ed25519\" (rsa-sha1 is never used)", *algorithm));
                 e.ok = false;
             }
         }},
        {"keyLength", [](Loader& l, SelectorEntry& e, const toml::node& v, const std::string& q) {
             if (auto bits = l.unsigned_value(v, q, 1024, 8192)) e.selector.keyBits = static_cast<unsigned>(*bits);
             else e.ok = false;
         }},
        {"keyFile", [](Loader& l, SelectorEntry& e, const toml::node& v, const std::string& q) {
             if (auto path = l.absolute_path(v, q)) e.selector.keyFile = *path;
             else e.ok = false;
         }},
    };
    return fields;
}

std::optional<DkimSelector> Loader::read_dkim_selector(const toml::node& node, const std::string& domain) {
    auto table = table_of(node, "a DKIM selector must be a table: { name = \"…\", algorithm = \"rsa\" | \"ed25519\" }");
    if (!table) return std::nullopt;
    SelectorEntry entry;
    entry.selector.position = position_of(node.source());
    entry.selector.keyBits = config_.dkimKeyBits;
    entry.domain = domain;
    read_fields<SelectorEntry>(*table, fmt::format("a selector of `{}`", domain), "", entry, selector_fields());
    if (entry.selector.name.empty() && entry.ok) {
        error(node, fmt::format("a selector of `{}` has no `name`", domain));
        entry.ok = false;
    }
    if (entry.selector.algorithm == DkimAlgorithm::Ed25519) entry.selector.keyBits = 0;
    return entry.ok ? std::optional(entry.selector) : std::nullopt;
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
    if (config_.certificateScheme == CertificateScheme::Acme && config_.acmeEmail.empty())
        warning(SourcePosition{1, 1}, "certificateScheme \"acme\" without `acmeEmail`: the ACME account has no contact address");
    if (config_.stateDirectory == config_.mailDirectory)
        error(SourcePosition{1, 1}, "`stateDirectory` and `mailDirectory` must differ");
}

}  // namespace

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
