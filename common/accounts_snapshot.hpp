// accounts_snapshot.hpp — the accounts snapshot as Dovecot's auth sees it:
// a password hash and userdb fields per login account.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "cdb_file.hpp"
#include "result.hpp"
#include "snapshot_layout.hpp"

namespace snm {

class AccountsSnapshot {
public:
    static Result<std::shared_ptr<const AccountsSnapshot>> open(const std::string& path);

    // "{SCHEME}hash" of `user` (any case), or nullopt for an unknown user.
    std::optional<std::string_view> password(std::string_view user) const {
        return file_->find_folded(layout::kPassword, user);
    }
    // Tab-separated Dovecot userdb fields ("home=…\tmail=…\tuid=…").
    std::optional<std::string_view> userdb_fields(std::string_view user) const {
        return file_->find_folded(layout::kUserdb, user);
    }
    // Calls visit(user) for every account, for userdb iteration.
    template <typename Visitor>
    void for_each_user(Visitor&& visit) const {
        file_->for_each(layout::kUserdb, [&](std::string_view user, std::string_view) { visit(user); });
    }

    const CdbFile& file() const { return *file_; }

private:
    explicit AccountsSnapshot(std::shared_ptr<const CdbFile> file) : file_(std::move(file)) {}
    std::shared_ptr<const CdbFile> file_;
};

}  // namespace snm
