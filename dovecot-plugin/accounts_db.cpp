// accounts_db.cpp — see accounts_db.hpp.
#include "accounts_db.hpp"

#include <fmt/format.h>

#include <map>
#include <mutex>

namespace snm::dovecot {

namespace {

SnapshotSource<AccountsSnapshot>::EventHandler event_logger(AccountsDb::Logger log) {
    return [log = std::move(log)](const SnapshotEvent& event) {
        if (!log) return;
        if (event.error)
            log(true, fmt::format("snm: {}; every login and user lookup fails temporarily until a good "
                                  "snapshot appears", event.message));
        else
            log(false, fmt::format("snm: {}", event.message));
    };
}

AccountRecord found_or_unknown(std::shared_ptr<const AccountsSnapshot> snapshot,
                               std::optional<std::string_view> value) {
    if (!value) return {Lookup::UnknownUser, {}, {}};
    return {Lookup::Found, *value, std::move(snapshot)};
}

}  // namespace

AccountsDb::AccountsDb(std::string snapshot_path, Logger log)
    : source_(std::move(snapshot_path), OnBrokenSnapshot::Fail, event_logger(std::move(log))) {}

std::shared_ptr<AccountsDb> AccountsDb::shared(const std::string& snapshot_path, const Logger& log) {
    static std::mutex mutex;
    static std::map<std::string, std::weak_ptr<AccountsDb>> by_path;
    std::lock_guard lock(mutex);
    auto& slot = by_path[snapshot_path];
    auto db = slot.lock();
    if (!db) {
        db = std::make_shared<AccountsDb>(snapshot_path, log);
        slot = db;
    }
    return db;
}

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
