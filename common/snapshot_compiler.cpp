// snapshot_compiler.cpp — see snapshot_compiler.hpp.
#include "snapshot_compiler.hpp"

#include <grp.h>
#include <unistd.h>

#include <fstream>
#include <fmt/format.h>
#include <unordered_map>
#include <unordered_set>

#include "address.hpp"
#include "cdb_file.hpp"
#include "password_hash.hpp"
#include "snapshot_layout.hpp"

namespace snm {

namespace {

std::string join(const std::vector<std::string>& items) {
    std::string joined;
    for (const auto& item : items) {
        if (!joined.empty()) joined += ',';
        joined += item;
    }
    return joined;
}

// Appends `value` unless already present (small lists: linear is fine).
void add_unique(std::vector<std::string>& list, const std::string& value) {
    for (const auto& existing : list)
        if (existing == value) return;
    list.push_back(value);
}

std::string key(std::string_view prefix, std::string_view name) {
    std::string k;
    k.reserve(prefix.size() + name.size());
    k.append(prefix).append(name);
    return k;
}

Status write_accounts(const Config& config, CdbBuilder& cdb) {
    if (auto added = cdb.add(kFormatKey, layout::kAccountsFormat); !added) return added;
    for (const auto& account : config.loginAccounts) {
        auto password = stored_password(account);
        if (!password) return Error{fmt::format("login account {}: {}", account.address, password.error().message)};
        if (auto added = cdb.add(key(layout::kPassword, account.address), *password); !added) return added;
        if (auto added = cdb.add(key(layout::kUserdb, account.address), userdb_fields(config, account)); !added) return added;
    }
    return cdb.finish();
}

Status write_routing(const Config& config, CdbBuilder& cdb) {
    std::unordered_map<std::string, std::vector<std::string>> aliases, catch_alls, owners;
    std::vector<std::string> regex_aliases;
    for (const auto& account : config.loginAccounts) {
        add_unique(owners[account.address], account.address);
        for (const auto& alias : account.aliases) {
            if (alias.starts_with('@')) add_unique(catch_alls[alias.substr(1)], account.address);
            else add_unique(aliases[alias], account.address);
            add_unique(owners[alias], account.address);
        }
        for (const auto& domain : account.catchAll) add_unique(catch_alls[domain], account.address);
        for (const auto& address : account.sendAs) add_unique(owners[address], account.address);
        for (const auto& pattern : account.aliasesRegexp) regex_aliases.push_back(pattern + '\t' + account.address);
    }
    for (const auto& [address, targets] : config.extraVirtualAliases) {
        auto& destinations = address.starts_with('@') ? catch_alls[address.substr(1)] : aliases[address];
        for (const auto& target : targets) {
            add_unique(destinations, target);
            add_unique(owners[address], target);
        }
    }
    // A hash set: a scan of the accounts per forward was most of `snmctl
    // apply` at 100,000 accounts (bench/snapshot).
    std::unordered_set<std::string_view> account_addresses;
    account_addresses.reserve(config.loginAccounts.size());
    for (const auto& account : config.loginAccounts) account_addresses.insert(account.address);
    for (const auto& [address, destinations] : config.forwards) {
        auto& list = aliases[address];
        // A forward on a login account keeps the local copy (SNM): the
        // address maps to itself as well, which Postfix delivers locally.
        if (account_addresses.count(address)) add_unique(list, address);
        for (const auto& destination : destinations) add_unique(list, destination);
    }

    if (auto a = cdb.add(kFormatKey, layout::kRoutingFormat); !a) return a;
    if (auto a = cdb.add(layout::kDelimiter, config.recipientDelimiter); !a) return a;
    if (auto a = cdb.add(layout::kRegexCount, std::to_string(regex_aliases.size())); !a) return a;
    if (const auto& t = config.loginThrottle; t.enable) {
        const auto limits = fmt::format("{} {} {} {} {} {}", t.maxFailures, t.findTime, t.banTime, t.maxBanTime,
                                        t.accountMaxFailures, t.accountDelay);
        std::vector<std::string> allowed = config.dkimInternalNetworks;
        allowed.insert(allowed.end(), t.allowNetworks.begin(), t.allowNetworks.end());
        if (auto a = cdb.add(layout::kLoginThrottle, limits); !a) return a;
        if (auto a = cdb.add(layout::kLoginAllow, join(allowed)); !a) return a;
    }
    for (const auto& domain : config.domains)
        if (auto a = cdb.add(key(layout::kDomain, domain), ""); !a) return a;
    for (const auto& account : config.loginAccounts) {
        const auto parts = split_address(account.address);
        const auto maildir = fmt::format("{}/{}/", parts->domain, parts->local);
        if (auto a = cdb.add(key(layout::kMailbox, account.address), maildir); !a) return a;
        if (account.sendOnly)
            if (auto a = cdb.add(key(layout::kSendOnly, account.address), account.sendOnlyRejectMessage); !a) return a;
    }
    for (const auto& [address, list] : aliases)
        if (auto a = cdb.add(key(layout::kAlias, address), join(list)); !a) return a;
    for (const auto& [domain, list] : catch_alls)
        if (auto a = cdb.add(key(layout::kCatchAll, domain), join(list)); !a) return a;
    for (const auto& [address, list] : owners)
        if (auto a = cdb.add(key(layout::kSenderOwners, address), join(list)); !a) return a;
    for (std::size_t i = 0; i < regex_aliases.size(); ++i)
        if (auto a = cdb.add(key(layout::kRegexAlias, std::to_string(i)), regex_aliases[i]); !a) return a;
    for (const auto& sender : config.rejectSender)
        if (auto a = cdb.add(key(layout::kRejectSender, sender), ""); !a) return a;
    for (const auto& recipient : config.rejectRecipients)
        if (auto a = cdb.add(key(layout::kRejectRecipient, recipient), ""); !a) return a;
    return cdb.finish();
}

Status write_dkim(const Config& config, CdbBuilder& cdb) {
    if (auto a = cdb.add(kFormatKey, layout::kDkimFormat); !a) return a;
    const auto canonicalization = fmt::format("{}/{}", to_string(config.dkimHeaderCanonicalization),
                                              to_string(config.dkimBodyCanonicalization));
    if (auto a = cdb.add(layout::kCanonicalization, canonicalization); !a) return a;
    if (auto a = cdb.add(layout::kOnError, config.dkimOnError == DkimOnError::Tempfail ? "tempfail" : "accept"); !a) return a;
    if (auto a = cdb.add(layout::kInternalNetworks, join(config.dkimInternalNetworks)); !a) return a;
    if (config.dkimSigning) {
        for (const auto& domain : config.domains) {
            std::string selectors;
            for (const auto& selector : config.selectors_for(domain))
                selectors += fmt::format("{}\t{}\t{}\n", selector.name, to_string(selector.algorithm), selector.keyFile);
            if (auto a = cdb.add(key(layout::kSigningDomain, domain), selectors); !a) return a;
        }
    }
    return cdb.finish();
}

Status stage_cdb(StagedFiles& staged, const std::string& path, const FileOwnership& ownership,
                 const std::function<Status(CdbBuilder&)>& fill) {
    return staged.stage(path, ownership, [&](int fd) {
        CdbBuilder cdb(fd);
        return fill(cdb);
    });
}

}  // namespace

SnapshotOwners default_snapshot_owners() {
    SnapshotOwners owners;
    if (::geteuid() == 0) {
        if (const group* dovecot = ::getgrnam("dovecot")) owners.accounts = FileOwnership{0640, 0, dovecot->gr_gid};
    }
    return owners;
}

Result<std::string> stored_password(const LoginAccount& account) {
    std::string hash = account.hashedPassword;
    if (hash.empty()) {
        std::ifstream in(account.hashedPasswordFile);
        if (!in || !std::getline(in, hash))
            return Error{fmt::format("cannot read hashedPasswordFile {}", account.hashedPasswordFile)};
        while (!hash.empty() && (hash.back() == '\r' || hash.back() == ' ')) hash.pop_back();
    }
    return dovecot_password(hash);
}

std::string sieve_script_path(const Config& config, const LoginAccount& account) {
    return fmt::format("{}/sieve/{}/default.sieve", config.stateDirectory, account.address);
}

std::string userdb_fields(const Config& config, const LoginAccount& account) {
    const auto parts = split_address(account.address);
    const auto home = fmt::format("{}/{}/{}", config.mailDirectory, parts->domain, parts->local);
    std::string fields = fmt::format("home={}\tmail=maildir:{}{}{}\tuid={}\tgid={}", home, home,
                                     config.useFsLayout ? ":LAYOUT=fs" : "",
                                     config.useUTF8FolderNames ? ":UTF-8" : "", config.vmailUID, config.vmailUID);
    if (account.quota) fields += fmt::format("\tquota_rule=*:storage={}", *account.quota);
    if (account.sieveScript) fields += fmt::format("\tsieve={}", sieve_script_path(config, account));
    return fields;
}

Status stage_snapshots(const Config& config, const SnapshotOwners& owners, StagedFiles& staged) {
    const auto directory = config.stateDirectory;
    if (auto made = make_directories(directory, 0755); !made) return made;
    const auto path = [&](std::string_view name) { return fmt::format("{}/{}", directory, name); };
    if (auto s = stage_cdb(staged, path(layout::kAccountsFile), owners.accounts,
                           [&](CdbBuilder& cdb) { return write_accounts(config, cdb); }); !s)
        return s;
    if (auto s = stage_cdb(staged, path(layout::kRoutingFile), owners.routing,
                           [&](CdbBuilder& cdb) { return write_routing(config, cdb); }); !s)
        return s;
    return stage_cdb(staged, path(layout::kDkimFile), owners.dkim,
                     [&](CdbBuilder& cdb) { return write_dkim(config, cdb); });
}

}  // namespace snm
