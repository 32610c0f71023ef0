// accounts_db.cpp — see accounts_db.hpp.
#include "accounts_db.hpp"

#include <fmt/format.h>

namespace snm::dovecot {

namespace {

SnapshotSource<AccountsSnapshot>::EventHandler event_logger(std::string kind, AccountsDb::Logger log) {
    return [kind = std::move(kind), log = std::move(log)](const SnapshotEvent& event) {
        if (!log) return;
        if (event.error)
            log(true, fmt::format("{} snm: {}; every lookup fails temporarily until a good snapshot appears",
                                  kind, event.message));
        else
            log(false, fmt::format("{} snm: {}", kind, event.message));
    };
}

AccountRecord found_or_unknown(std::shared_ptr<const AccountsSnapshot> snapshot,
                               std::optional<std::string_view> value) {
    if (!value) return {Lookup::UnknownUser, {}, {}};
    return {Lookup::Found, *value, std::move(snapshot)};
}

}  // namespace

AccountsDb::AccountsDb(std::string snapshot_path, std::string kind, Logger log)
    : source_(std::move(snapshot_path), OnBrokenSnapshot::Fail, event_logger(std::move(kind), std::move(log))) {}

std::shared_ptr<const AccountsSnapshot> AccountsDb::current() noexcept {
    try {
        return source_.get();
    } catch (...) {  // out of memory or a failing mutex: a temporary failure
        return nullptr;
    }
}

AccountRecord AccountsDb::password(std::string_view user) noexcept {
    auto snapshot = current();
    if (!snapshot) return {};
    const auto value = snapshot->password(user);
    return found_or_unknown(std::move(snapshot), value);
}

AccountRecord AccountsDb::userdb_fields(std::string_view user) noexcept {
    auto snapshot = current();
    if (!snapshot) return {};
    const auto value = snapshot->userdb_fields(user);
    return found_or_unknown(std::move(snapshot), value);
}

std::optional<UserList> AccountsDb::users() noexcept {
    try {
        UserList list{current(), {}};
        if (!list.snapshot) return std::nullopt;
        list.snapshot->for_each_user([&](std::string_view user) { list.users.push_back(user); });
        return list;
    } catch (...) {
        return std::nullopt;
    }
}

bool AccountsDb::refresh() noexcept {
    source_.request_reload();
    auto snapshot = current();
    const bool changed = snapshot != last_refreshed_;
    last_refreshed_ = std::move(snapshot);
    return changed;
}

}  // namespace snm::dovecot
