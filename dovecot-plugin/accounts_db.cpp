// accounts_db.cpp — see accounts_db.hpp.
#include "accounts_db.hpp"

#include <fmt/format.h>

#include <sys/resource.h>

#include <algorithm>
#include <map>
#include <mutex>

#include "cdb_file.hpp"
#include "snapshot_layout.hpp"

namespace snm::dovecot {

namespace {

SnapshotSource<AccountsFile>::EventHandler event_logger(AccountsDb::Logger log) {
    return [log = std::move(log)](const SnapshotEvent& event) {
        if (!log) return;
        if (event.error)
            log(true, fmt::format("snm: {}; every login and user lookup fails temporarily until a good "
                                  "snapshot appears", event.message));
        else
            log(false, fmt::format("snm: {}", event.message));
    };
}

// Snapshots up to this size are mapped (lookups ≈4 µs faster); larger ones
// are read with pread, so the module's memory does not grow with them.
constexpr std::uint64_t kMaxMappedBytes = 128u << 20;
// ... and never more than this share of the process's address-space limit
// (Dovecot's vsz_limit): during a switch two snapshots are mapped at once.
constexpr std::uint64_t kAddressSpaceShare = 4;

std::uint64_t map_limit() {
    rlimit limit{};
    if (::getrlimit(RLIMIT_AS, &limit) != 0 || limit.rlim_cur == RLIM_INFINITY) return kMaxMappedBytes;
    return std::min<std::uint64_t>(kMaxMappedBytes, limit.rlim_cur / kAddressSpaceShare);
}

}  // namespace

// ---- AccountsFile ----

Result<std::shared_ptr<const AccountsFile>> AccountsFile::open(const std::string& path) {
    auto reader = CdbReader::open(path, layout::kAccountsFormat, map_limit());
    if (!reader) return reader.error();
    return std::shared_ptr<const AccountsFile>(new AccountsFile(std::move(reader.value())));
}

CdbReader::Find AccountsFile::find_folded(std::string_view prefix, std::string_view user, std::string& value) const {
    if (prefix.size() + user.size() > kMaxLookupKey) return CdbReader::Find::NotFound;
    char key[kMaxLookupKey];
    std::size_t length = 0;
    for (const char c : prefix) key[length++] = c;
    for (const char c : user) key[length++] = (c >= 'A' && c <= 'Z') ? static_cast<char>(c + ('a' - 'A')) : c;
    return reader_->find(std::string_view(key, length), value);
}

CdbReader::Find AccountsFile::password(std::string_view user, std::string& value) const {
    return find_folded(layout::kPassword, user, value);
}

CdbReader::Find AccountsFile::userdb_fields(std::string_view user, std::string& value) const {
    return find_folded(layout::kUserdb, user, value);
}

bool AccountsFile::next_user(CdbReader::Position& position, std::string& user) const {
    while (reader_->next(position, user)) {
        if (user.starts_with(layout::kUserdb)) {
            user.erase(0, layout::kUserdb.size());
            return true;
        }
    }
    return false;
}

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

std::shared_ptr<const AccountsFile> AccountsDb::current() noexcept {
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
        record.status = found == CdbReader::Find::Found      ? Lookup::Found
                        : found == CdbReader::Find::NotFound ? Lookup::UnknownUser
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
