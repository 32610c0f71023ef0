// change_report.hpp — what `snmctl apply --dry-run` shows of the files an
// apply would change: a unified diff (diff -u) of each configuration file,
// the records added, removed or changed in each snapshot (by key: which
// account, alias, domain, DKIM signing domain), and only the name of a file
// that holds a secret (a key, a password: not readable by everyone).
#pragma once

#include <string>
#include <vector>

#include "result.hpp"
#include "staged_files.hpp"

namespace snm::ctl {

// The longest diff shown of one file.
inline constexpr std::size_t kMaxDiffBytes = 256 * 1024;

// One block of text per change, in the order given.
Result<std::vector<std::string>> describe_changes(const std::vector<StagedChange>& changes);

}  // namespace snm::ctl
