// password_hash.hpp — password hashes as snm.toml holds them and as Dovecot
// verifies them.
//
// snm.toml takes crypt(3) strings, as SNM does ("$6$…" from
// `mkpasswd -m sha-512`, "$2y$…", "$argon2id$…", "$y$…"), and Dovecot's own
// "{SCHEME}hash" form, as docker-mailserver does. Everything handed to
// Dovecot is in "{SCHEME}hash" form, so Dovecot never has to guess.
#pragma once

#include <string>
#include <string_view>

#include "result.hpp"

namespace snm {

// The "{SCHEME}hash" Dovecot should verify for `hash`, or an error saying
// why Dovecot could not verify it. Recognises the structure of each crypt
// format (a truncated or mangled hash is an error, not a locked account).
Result<std::string> dovecot_password(std::string_view hash);

// True when `hash` stores a password Dovecot can read back in clear
// ({PLAIN}, {CLEARTEXT}, …): accepted, but worth a warning.
bool is_cleartext_scheme(std::string_view dovecot_password);

enum class HashScheme { Sha512Crypt, Bcrypt, Argon2id };

// Parses "sha512-crypt", "bcrypt", "argon2id".
Result<HashScheme> parse_hash_scheme(std::string_view name);

// Hashes `password` with a fresh random salt. The result is a crypt(3)
// string (usable as `hashedPassword`) that Dovecot verifies.
Result<std::string> hash_password(std::string_view password, HashScheme scheme);

}  // namespace snm
