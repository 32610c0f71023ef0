// snapshot_compiler.hpp — compiles a checked Config into the three snapshot
// files and stages them (nothing is visible until the caller commits).
#pragma once

#include <string>

#include "config.hpp"
#include "result.hpp"
#include "staged_files.hpp"

namespace snm {

struct SnapshotOwners {
    // accounts.cdb: readable by Dovecot's auth only. When running as root
    // the file is root:<dovecot group> 0640, otherwise 0600 (a private
    // sandbox whose Dovecot runs as the same user).
    FileOwnership accounts{0600, {}, {}};
    FileOwnership routing{0644, {}, {}};
    FileOwnership dkim{0644, {}, {}};
};

// The ownership a system install wants (looks up the "dovecot" group).
SnapshotOwners default_snapshot_owners();

// Stages <stateDirectory>/{accounts,routing,dkim}.cdb from `config`.
Status stage_snapshots(const Config& config, const SnapshotOwners& owners, StagedFiles& staged);

// The stored password of `account`: its hashedPassword, or the first line of
// its hashedPasswordFile, as Dovecot's "{SCHEME}hash".
Result<std::string> stored_password(const LoginAccount& account);

// Dovecot userdb fields of `account`, tab-separated.
std::string userdb_fields(const Config& config, const LoginAccount& account);

// Where the account's sieveScript is installed.
std::string sieve_script_path(const Config& config, const LoginAccount& account);

}  // namespace snm
