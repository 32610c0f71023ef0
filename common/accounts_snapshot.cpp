// accounts_snapshot.cpp — see accounts_snapshot.hpp.
#include "accounts_snapshot.hpp"

namespace snm {

Result<std::shared_ptr<const AccountsSnapshot>> AccountsSnapshot::open(const std::string& path) {
    auto file = CdbFile::open(path, layout::kAccountsFormat);
    if (!file) return file.error();
    return std::shared_ptr<const AccountsSnapshot>(new AccountsSnapshot(std::move(file.value())));
}

}  // namespace snm
