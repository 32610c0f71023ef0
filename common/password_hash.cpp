// password_hash.cpp — see password_hash.hpp. Hashing uses libxcrypt
// (crypt_gensalt_rn + crypt_rn) and libargon2; nothing here is hand-made
// cryptography, only the recognition of the hash formats.
#include "password_hash.hpp"

#include <argon2.h>
#include <crypt.h>
#include <sys/random.h>

#include <array>
#include <vector>
#include <cstring>
#include <fmt/format.h>

#include "address.hpp"

namespace snm {

namespace {

// Every scheme Dovecot 2.3 knows (`doveadm pw -l`).
constexpr std::string_view kDovecotSchemes[] = {
    "ARGON2I", "ARGON2ID", "BLF-CRYPT", "CLEAR", "CLEARTEXT", "CRAM-MD5", "CRYPT",
    "DES-CRYPT", "DIGEST-MD5", "HMAC-MD5", "LDAP-MD5", "MD5", "MD5-CRYPT", "OTP",
    "PBKDF2", "PLAIN", "PLAIN-MD4", "PLAIN-MD5", "PLAIN-TRUNC", "SCRAM-SHA-1",
    "SCRAM-SHA-256", "SHA", "SHA1", "SHA256", "SHA256-CRYPT", "SHA512", "SHA512-CRYPT",
    "SMD5", "SSHA", "SSHA256", "SSHA512",
};

constexpr std::string_view kCleartextSchemes[] = {"CLEAR", "CLEARTEXT", "PLAIN", "PLAIN-TRUNC"};

bool is_crypt64(char c) {
    return c == '.' || c == '/' || (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') ||
           (c >= 'a' && c <= 'z');
}

bool all_crypt64(std::string_view s) {
    for (char c : s)
        if (!is_crypt64(c)) return false;
    return true;
}

bool is_base64_nopad(std::string_view s) {
    for (char c : s) {
        const bool ok = c == '+' || c == '/' || (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') ||
                        (c >= 'a' && c <= 'z');
        if (!ok) return false;
    }
    return !s.empty();
}

std::vector<std::string_view> split_dollar(std::string_view s) {
    std::vector<std::string_view> fields;
    std::size_t start = 0;
    while (true) {
        const auto end = s.find('$', start);
        fields.push_back(s.substr(start, end == std::string_view::npos ? s.npos : end - start));
        if (end == std::string_view::npos) break;
        start = end + 1;
    }
    return fields;
}

// "$5$" / "$6$": [rounds=N$]salt$hash; hash of `hash_length` crypt64 chars.
bool valid_sha_crypt(std::string_view hash, std::size_t hash_length) {
    auto fields = split_dollar(hash);  // "", "6", [rounds], salt, hash
    std::size_t next = 2;
    if (fields.size() == 5 && fields[2].starts_with("rounds=")) ++next;
    if (fields.size() != next + 2) return false;
    const auto salt = fields[next];
    const auto digest = fields[next + 1];
    return salt.size() <= 16 && all_crypt64(salt) && digest.size() == hash_length && all_crypt64(digest);
}

bool valid_bcrypt(std::string_view hash) {
    // $2b$CC$ + 22 salt + 31 hash characters.
    if (hash.size() != 60 || hash[3] != '$' || hash[6] != '$') return false;
    if (!(hash[4] >= '0' && hash[4] <= '3' && hash[5] >= '0' && hash[5] <= '9')) return false;
    return all_crypt64(hash.substr(7));
}

bool valid_argon2(std::string_view hash) {
    auto fields = split_dollar(hash);  // "", argon2id, v=19, m=..,t=..,p=.., salt, hash
    if (fields.size() != 6) return false;
    return fields[2].starts_with("v=") && fields[3].starts_with("m=") && is_base64_nopad(fields[4]) &&
           is_base64_nopad(fields[5]);
}

bool valid_md5_crypt(std::string_view hash) {
    auto fields = split_dollar(hash);  // "", 1, salt, hash
    return fields.size() == 4 && fields[2].size() <= 8 && all_crypt64(fields[2]) &&
           fields[3].size() == 22 && all_crypt64(fields[3]);
}

bool valid_yescrypt(std::string_view hash) {
    auto fields = split_dollar(hash);  // "", y, params, salt, hash
    return fields.size() == 5 && !fields[2].empty() && all_crypt64(fields[3]) &&
           fields[4].size() == 43 && all_crypt64(fields[4]);
}

Error malformed(std::string_view kind) {
    return Error{fmt::format(
        "this looks like a {} hash but is malformed (truncated or mangled?); "
        "generate a new one with `snmctl passwd`",
        kind)};
}

}  // namespace

Result<std::string> dovecot_password(std::string_view hash) {
    if (hash.empty()) return Error{"the password hash is empty; generate one with `snmctl passwd`"};
    for (char c : hash)
        if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f)
            return Error{"the password hash contains a control character (a stray newline?)"};

    if (hash.front() == '{') {
        const auto close = hash.find('}');
        if (close == std::string_view::npos)
            return Error{"a `{SCHEME}hash` password has no closing `}`"};
        const std::string scheme = [&] {
            std::string s(hash.substr(1, close - 1));
            for (auto& c : s) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
            return s;
        }();
        // Dovecot accepts an encoding suffix: {SHA256.b64}, {SHA256.hex}.
        const std::string_view base = std::string_view(scheme).substr(0, scheme.find('.'));
        bool known = false;
        for (auto s : kDovecotSchemes) known = known || s == base;
        if (!known)
            return Error{fmt::format("Dovecot has no password scheme `{}`; known schemes include "
                                     "SHA512-CRYPT, BLF-CRYPT and ARGON2ID (`doveadm pw -l` lists all)",
                                     scheme)};
        if (close + 1 == hash.size()) return Error{fmt::format("the {{{}}} password has no hash after the scheme", scheme)};
        return std::string(hash);
    }

    if (hash.starts_with("$6$")) {
        if (!valid_sha_crypt(hash, 86)) return malformed("SHA512-CRYPT ($6$)");
        return fmt::format("{{SHA512-CRYPT}}{}", hash);
    }
    if (hash.starts_with("$5$")) {
        if (!valid_sha_crypt(hash, 43)) return malformed("SHA256-CRYPT ($5$)");
        return fmt::format("{{SHA256-CRYPT}}{}", hash);
    }
    if (hash.starts_with("$2a$") || hash.starts_with("$2b$") || hash.starts_with("$2y$")) {
        if (!valid_bcrypt(hash)) return malformed("bcrypt ($2y$/$2b$)");
        return fmt::format("{{BLF-CRYPT}}{}", hash);
    }
    if (hash.starts_with("$argon2id$")) {
        if (!valid_argon2(hash)) return malformed("Argon2id");
        return fmt::format("{{ARGON2ID}}{}", hash);
    }
    if (hash.starts_with("$argon2i$")) {
        if (!valid_argon2(hash)) return malformed("Argon2i");
        return fmt::format("{{ARGON2I}}{}", hash);
    }
    if (hash.starts_with("$1$")) {
        if (!valid_md5_crypt(hash)) return malformed("MD5-CRYPT ($1$)");
        return fmt::format("{{MD5-CRYPT}}{}", hash);
    }
    if (hash.starts_with("$y$")) {
        // yescrypt, Debian's mkpasswd default: Dovecot verifies it through
        // the system crypt(3) (libxcrypt), its CRYPT scheme.
        if (!valid_yescrypt(hash)) return malformed("yescrypt ($y$)");
        return fmt::format("{{CRYPT}}{}", hash);
    }
    if (hash.starts_with("$argon2d$"))
        return Error{"Argon2d hashes cannot be verified by Dovecot; use Argon2id (`snmctl passwd --scheme argon2id`)"};
    return Error{
        "not a password hash Dovecot can verify; expected a crypt(3) string such as "
        "`$6$…` (SHA512-CRYPT), `$2y$…` (bcrypt) or `$argon2id$…`, or Dovecot's `{SCHEME}hash`; "
        "generate one with `snmctl passwd`"};
}

bool is_cleartext_scheme(std::string_view password) {
    if (!password.starts_with('{')) return false;
    const auto close = password.find('}');
    if (close == std::string_view::npos) return false;
    const std::string scheme = to_lower(password.substr(1, close - 1));
    for (auto s : kCleartextSchemes)
        if (to_lower(s) == scheme) return true;
    return false;
}

Result<HashScheme> parse_hash_scheme(std::string_view name) {
    if (name == "sha512-crypt") return HashScheme::Sha512Crypt;
    if (name == "bcrypt") return HashScheme::Bcrypt;
    if (name == "argon2id") return HashScheme::Argon2id;
    return Error{fmt::format("unknown scheme `{}`; expected sha512-crypt, bcrypt or argon2id", name)};
}

namespace {

// Cost parameters: Dovecot's and libsodium's interactive defaults.
constexpr unsigned long kBcryptCost = 10;
constexpr uint32_t kArgon2TimeCost = 3;
constexpr uint32_t kArgon2MemoryKiB = 65536;
// libsodium (which verifies ARGON2ID in Dovecot) accepts only one lane.
constexpr uint32_t kArgon2Lanes = 1;
constexpr std::size_t kArgon2SaltBytes = 16;
constexpr std::size_t kArgon2HashBytes = 32;

Result<std::string> crypt_hash(std::string_view password, const char* prefix, unsigned long count) {
    std::array<char, CRYPT_GENSALT_OUTPUT_SIZE> setting{};
    if (!crypt_gensalt_rn(prefix, count, nullptr, 0, setting.data(), static_cast<int>(setting.size())))
        return Error{fmt::format("crypt_gensalt({}) failed: {}", prefix, std::strerror(errno))};
    crypt_data data{};
    const std::string phrase(password);
    const char* hashed = crypt_rn(phrase.c_str(), setting.data(), &data, sizeof data);
    if (!hashed || hashed[0] == '*') return Error{fmt::format("crypt({}) failed", prefix)};
    return std::string(hashed);
}

}  // namespace

Result<std::string> hash_password(std::string_view password, HashScheme scheme) {
    switch (scheme) {
    case HashScheme::Sha512Crypt:
        return crypt_hash(password, "$6$", 0);
    case HashScheme::Bcrypt:
        return crypt_hash(password, "$2b$", kBcryptCost);
    case HashScheme::Argon2id: {
        std::array<unsigned char, kArgon2SaltBytes> salt{};
        if (getrandom(salt.data(), salt.size(), 0) != static_cast<ssize_t>(salt.size()))
            return Error{fmt::format("getrandom failed: {}", std::strerror(errno))};
        const std::size_t length = argon2_encodedlen(kArgon2TimeCost, kArgon2MemoryKiB, kArgon2Lanes,
                                                     salt.size(), kArgon2HashBytes, Argon2_id);
        std::string encoded(length, '\0');
        const int rc = argon2id_hash_encoded(kArgon2TimeCost, kArgon2MemoryKiB, kArgon2Lanes,
                                             password.data(), password.size(), salt.data(), salt.size(),
                                             kArgon2HashBytes, encoded.data(), encoded.size());
        if (rc != ARGON2_OK) return Error{fmt::format("argon2id failed: {}", argon2_error_message(rc))};
        encoded.resize(std::strlen(encoded.c_str()));
        return encoded;
    }
    }
    return Error{"unknown hash scheme"};
}

}  // namespace snm
