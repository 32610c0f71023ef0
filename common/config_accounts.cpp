// config_accounts.cpp — the login accounts of snm.toml, with
// extraVirtualAliases and forwards, the tables that point at them
// (config_reader.hpp).
#include <sys/stat.h>
#include <regex.h>

#include <cerrno>
#include <cstring>
#include <fstream>

#include "config_reader.hpp"
#include "password_hash.hpp"

namespace snm::config_reading {

namespace {

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

}  // namespace

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

}  // namespace snm::config_reading
