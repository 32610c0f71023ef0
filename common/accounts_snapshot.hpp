// accounts_snapshot.hpp — the accounts snapshot as Dovecot's auth sees it:
// a password hash and userdb fields per login account.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "cdb_file.hpp"
#include "result.hpp"

namespace snm {

class AccountsSnapshot {
public:
    static Result<std::shared_ptr<const AccountsSnapshot>> open(const std::string& path);

    // "{SCHEME}hash" of `user` (any case) into `value`.
    Find password(std::string_view user, std::string& value) const;
    // Tab-separated Dovecot userdb fields ("home=…\tmail=…\tuid=…") into `value`.
    Find userdb_fields(std::string_view user, std::string& value) const;
    // The next account after `position`, for userdb iteration; false at the
    // end or on a read error (then position.failed is true).
    bool next_user(CdbFile::Position& position, std::string& user) const;

    const CdbFile& file() const { return *file_; }

private:
    explicit AccountsSnapshot(std::shared_ptr<const CdbFile> file) : file_(std::move(file)) {}
    std::shared_ptr<const CdbFile> file_;
};

}  // namespace snm
