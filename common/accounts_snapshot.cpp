// accounts_snapshot.cpp — see accounts_snapshot.hpp.
#include "accounts_snapshot.hpp"

#include "snapshot_layout.hpp"

namespace snm {

Result<std::shared_ptr<const AccountsSnapshot>> AccountsSnapshot::open(const std::string& path) {
    auto file = CdbFile::open(path, layout::kAccountsFormat);
    if (!file) return file.error();
    return std::shared_ptr<const AccountsSnapshot>(new AccountsSnapshot(std::move(file.value())));
}

Find AccountsSnapshot::password(std::string_view user, std::string& value) const {
    return file_->find_folded(layout::kPassword, user, value);
}

Find AccountsSnapshot::userdb_fields(std::string_view user, std::string& value) const {
    return file_->find_folded(layout::kUserdb, user, value);
}

bool AccountsSnapshot::next_user(CdbFile::Position& position, std::string& user) const {
    std::string fields;
    while (file_->next(position, user, fields)) {
        if (user.starts_with(layout::kUserdb)) {
            user.erase(0, layout::kUserdb.size());
            return true;
        }
    }
    return false;
}

}  // namespace snm
