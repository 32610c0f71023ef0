// accounts_db.hpp — what the snm passdb and userdb answer: lookups in the
// current accounts snapshot, and the module's reload and fault policy.
//
// A replaced snapshot file is picked up by the next lookup (the file is
// checked at most once a second) or at once by refresh(). A missing,
// unreadable or corrupt snapshot never stops Dovecot: every lookup answers
// Unavailable (Dovecot then gives the client a temporary failure), the cause
// is logged once, naming the path, and the next good file is picked up by
// itself. Nothing here touches Dovecot's API; the shim (authdb_snm.cpp)
// turns these answers into Dovecot's.
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "accounts_snapshot.hpp"
#include "snapshot_source.hpp"

namespace snm::dovecot {

enum class Lookup {
    Found,
    UnknownUser,
    Unavailable,  // no usable snapshot: a temporary failure
};

struct AccountRecord {
    Lookup status = Lookup::Unavailable;
    std::string value;
};

// Every account of one snapshot, read one at a time (a million accounts
// are never held in memory at once).
class UserCursor {
public:
    explicit UserCursor(std::shared_ptr<const AccountsSnapshot> file) : file_(std::move(file)) {}
    // The next account, or nullopt at the end (or on a read error).
    std::optional<std::string> next() noexcept;
    bool failed() const { return position_.failed; }

private:
    std::shared_ptr<const AccountsSnapshot> file_;
    CdbFile::Position position_;
};

class AccountsDb {
public:
    // message: one log line, already worded for the administrator.
    using Logger = std::function<void(bool error, const std::string& message)>;

    // Reads nothing yet; `log` receives load and failure events.
    AccountsDb(std::string snapshot_path, Logger log);

    // The one AccountsDb of `snapshot_path` in this process, made with `log`
    // on first use: a passdb and a userdb on the same file share the file,
    // the checks and the log lines. Lives while someone holds it.
    static std::shared_ptr<AccountsDb> shared(const std::string& snapshot_path, const Logger& log);

    // "{SCHEME}hash" of `user` (any case).
    AccountRecord password(std::string_view user) noexcept;
    // Tab-separated userdb fields of `user`; see for_each_userdb_field().
    AccountRecord userdb_fields(std::string_view user) noexcept;
    // nullopt when no snapshot is usable.
    std::optional<UserCursor> users() noexcept;

    // Checks the file now; true when the snapshot served changed (a new one
    // was loaded, or it became unusable) since the previous refresh().
    bool refresh() noexcept;

    const std::string& snapshot_path() const { return source_.path(); }

private:
    std::shared_ptr<const AccountsSnapshot> current() noexcept;
    AccountRecord lookup(std::string_view user, bool password) noexcept;

    Logger log_;
    SnapshotSource<AccountsSnapshot> source_;
    // The snapshot whose unreadable record was last reported (once each).
    std::atomic<const AccountsSnapshot*> reported_read_error_{nullptr};
    std::shared_ptr<const AccountsSnapshot> last_refreshed_;
};

// Calls visit(key, value) for each "key=value" of a tab-separated userdb
// record; a field without '=' has an empty value.
template <typename Visitor>
void for_each_userdb_field(std::string_view fields, Visitor&& visit) {
    while (!fields.empty()) {
        const auto tab = fields.find('\t');
        const auto field = fields.substr(0, tab);
        if (!field.empty()) {
            const auto equals = field.find('=');
            if (equals == std::string_view::npos)
                visit(field, std::string_view{});
            else
                visit(field.substr(0, equals), field.substr(equals + 1));
        }
        if (tab == std::string_view::npos) break;
        fields.remove_prefix(tab + 1);
    }
}

}  // namespace snm::dovecot
