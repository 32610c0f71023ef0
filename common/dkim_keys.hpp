// dkim_keys.hpp — DKIM key files: generation, loading with safety checks,
// and the DNS TXT records that publish their public halves.
//
// Shared by `snmctl` (apply, dkim keygen|list|dns|rotate, dns) and
// snm-dkim-milter.
// A key file is a PEM private key (PKCS#8), mode 0600, owned by the milter's
// user. Beside it, `<domain>.<selector>.txt` holds the zone-file line to
// publish (the key path with ".key" replaced by ".txt"). RSA keys publish
// their SubjectPublicKeyInfo (RFC 6376 §3.6.1), Ed25519 keys the raw 32-byte
// public key (RFC 8463 §4). TXT strings are split at 255 octets (RFC 1035).
//
// load_dkim_key() refuses, naming the path and the fix: key files readable
// or writable by group or others, a directory on the path that others may
// write to (except sticky directories above the key's own directory, e.g.
// /tmp), RSA keys under kMinimumRsaBits, an algorithm other than the
// selector's, and a key whose public half differs from its TXT record.
#pragma once

#include <openssl/evp.h>

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "config.hpp"
#include "result.hpp"
#include "staged_files.hpp"

namespace snm {

// RFC 8301: verifiers must not accept RSA keys under 1024 bits.
inline constexpr unsigned kMinimumRsaBits = 1024;
// Longest character-string in a TXT record (RFC 1035 §3.3).
inline constexpr std::size_t kMaxTxtString = 255;
// The account snm-dkim-milter runs as on a system install; `snmctl apply`
// run as root gives it the key files.
inline constexpr std::string_view kDkimMilterUser = "snm-dkim";
// TTL written into the zone-file snippets (the seed guide's 10800).
inline constexpr unsigned kDnsTtl = 10800;

struct EvpPkeyFree {
    void operator()(EVP_PKEY* key) const { EVP_PKEY_free(key); }
};
using EvpPkeyPtr = std::unique_ptr<EVP_PKEY, EvpPkeyFree>;

// A private key read from disk and checked.
struct DkimKey {
    EvpPkeyPtr key;
    DkimAlgorithm algorithm = DkimAlgorithm::Rsa;
    unsigned bits = 0;             // RSA modulus size; 256 for Ed25519
    std::string public_key;        // the p= value
    std::optional<std::string> warning;  // e.g. no TXT record beside the key
};

Result<EvpPkeyPtr> generate_dkim_key(DkimAlgorithm algorithm, unsigned rsa_bits);
Result<std::string> private_key_pem(EVP_PKEY* key);
// The base64 p= value of `key`'s public half.
Result<std::string> dkim_public_key(EVP_PKEY* key);

// "v=DKIM1; k=rsa; p=…"
std::string dkim_txt_value(DkimAlgorithm algorithm, std::string_view public_key);
// One zone-file line: `sel._domainkey.domain. 10800 IN TXT "…" "…"`.
std::string dkim_zone_record(std::string_view domain, std::string_view selector, std::string_view txt_value);
// `value` as zone-file character-strings of at most 255 octets each.
std::string quoted_txt_strings(std::string_view value);
// The TXT file that belongs to a key file.
std::string dkim_txt_path(const std::string& key_file);
// The p= value of a zone-file TXT record (the strings joined); nullopt if none.
std::optional<std::string> public_key_of_txt_record(std::string_view zone_text);

// Refuses files and directories others could read or replace (see above).
Status check_key_file_safety(const std::string& path);
// Parses a key file without the safety and TXT checks (for `snmctl dkim dns`).
Result<DkimKey> read_dkim_key(const std::string& path);
// read_dkim_key() and every check: what the milter signs with.
Result<DkimKey> load_dkim_key(const std::string& path, DkimAlgorithm expected);

struct GeneratedKey {
    std::string domain;
    std::string selector;
    std::string key_file;
    std::string zone_record;
};

// Stages a new key of `selector`'s algorithm and size at its keyFile, and
// the TXT file beside it; nothing is visible before the caller commits
// `staged`. The key directory is created (0750) as needed. Refuses a
// keyFile that exists: a key is never replaced under the same selector.
Result<GeneratedKey> stage_dkim_key(const std::string& domain, const DkimSelector& selector, StagedFiles& staged);

// stage_dkim_key() for every selector of every signing domain whose key
// file does not exist yet.
Result<std::vector<GeneratedKey>> stage_missing_dkim_keys(const Config& config, StagedFiles& staged);

}  // namespace snm
