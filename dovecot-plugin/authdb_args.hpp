// authdb_args.hpp — the `args` string of `passdb { driver = snm }` and
// `userdb { driver = snm }`, parsed once when Dovecot's auth starts.
//
//   args = [blocking=yes|no] PATH
//
// PATH is the accounts snapshot (`<stateDirectory>/accounts.cdb`), absolute.
// blocking=yes runs the lookups in Dovecot's auth-worker processes, where
// password hashes are verified in parallel; no keeps them in the auth
// process. A bad string is a configuration error: Dovecot stops with the
// message, naming the setting, as its own drivers do.
#pragma once

#include <string>
#include <string_view>

#include "result.hpp"

namespace snm::dovecot {

struct AuthdbArgs {
    std::string snapshot_path;
    bool blocking = false;
};

// `kind` ("passdb" or "userdb") names the block in error messages;
// `default_blocking` applies when the string has no blocking= setting.
Result<AuthdbArgs> parse_authdb_args(std::string_view args, std::string_view kind, bool default_blocking);

}  // namespace snm::dovecot
