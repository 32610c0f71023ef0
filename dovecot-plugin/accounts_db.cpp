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

}  // namespace

// ---- UserCursor ----

std::optional<std::string> UserCursor::next() noexcept {
    try {
        std::string user;
        if (file_->next_user(position_, user)) return user;
    } catch (...) {  // out of memory: end the listing as failed
        position_.failed = true;
    }
    return std::nullopt;
}

// ---- AccountsDb ----

AccountsDb::AccountsDb(std::string snapshot_path, Logger log)
    : log_(log), source_(std::move(snapshot_path), OnBrokenSnapshot::Fail, event_logger(std::move(log))) {}

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

AccountRecord AccountsDb::lookup(std::string_view user, bool password) noexcept {
    AccountRecord record;
    const auto file = current();
    if (!file) return record;
    try {
        const auto found = password ? file->password(user, record.value) : file->userdb_fields(user, record.value);
        record.status = found == Find::Found      ? Lookup::Found
                        : found == Find::NotFound ? Lookup::UnknownUser
                                                             : Lookup::Unavailable;
        if (record.status == Lookup::Unavailable && log_ && reported_read_error_.exchange(file.get()) != file.get())
            log_(true, fmt::format("snm: snapshot {} has an unreadable or corrupt record; lookups that need it "
                                   "fail temporarily; run `snmctl apply` to rewrite it",
                                   snapshot_path()));
    } catch (...) {
        record.status = Lookup::Unavailable;
    }
    return record;
}

AccountRecord AccountsDb::password(std::string_view user) noexcept { return lookup(user, true); }

AccountRecord AccountsDb::userdb_fields(std::string_view user) noexcept { return lookup(user, false); }

std::optional<UserCursor> AccountsDb::users() noexcept {
    auto file = current();
    if (!file) return std::nullopt;
    return UserCursor(std::move(file));
}

bool AccountsDb::refresh() noexcept {
    source_.request_reload();
    auto snapshot = current();
    const bool changed = snapshot != last_refreshed_;
    last_refreshed_ = std::move(snapshot);
    return changed;
}

}  // namespace snm::dovecot
