// signer.hpp — DKIM signatures (RFC 6376 rsa-sha256, RFC 8463
// ed25519-sha256) over a message given as header fields and streamed body
// chunks. Plain C++, no milter in sight: the protocol layer and the unit
// tests drive it the same way.
//
// One body hash serves every selector of the message; each selector gets its
// own DKIM-Signature. Signed headers: RFC 6376 §5.4.1's recommended set, each
// present instance signed bottom-up, and kOversignedHeaders listed once more
// than they occur so none can be added later. t= is set; l= never.
#pragma once

#include <ctime>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "canonicalization.hpp"
#include "config.hpp"
#include "dkim_keys.hpp"
#include "result.hpp"

namespace snm::milter {

// A private key loaded once per snapshot, ready to sign for one selector.
struct SigningKey {
    std::string domain;
    std::string selector;
    DkimAlgorithm algorithm = DkimAlgorithm::Rsa;
    EvpPkeyPtr key;
};

// One header field as it travels: `value` is everything after the colon,
// folded lines separated by CRLF.
struct HeaderField {
    std::string_view name;
    std::string_view value;
};

// Keys that must be listed (and so protected) even when absent.
inline constexpr std::string_view kOversignedHeaders[] = {
    "from", "to", "cc", "subject", "date", "message-id", "reply-to", "in-reply-to", "references",
    "mime-version", "content-type", "content-transfer-encoding"};
// Signed when present (RFC 6376 §5.4.1), in addition to the above.
inline constexpr std::string_view kSignedWhenPresent[] = {
    "sender", "resent-date", "resent-from", "resent-sender", "resent-to", "resent-cc", "list-id",
    "list-help", "list-unsubscribe", "list-subscribe", "list-post", "list-owner", "list-archive"};

class MessageSigner {
public:
    // Starts a message (the object is reused: buffers keep their capacity).
    void begin(Canonicalization header, Canonicalization body);
    void body(std::string_view chunk);
    // Appends one DKIM-Signature field value per key to `out`: a leading
    // space, then the tags folded with CRLF TAB.
    Status finish(std::span<const HeaderField> headers, std::span<const SigningKey* const> keys, std::time_t now,
                  std::vector<std::string>& out);

private:
    Canonicalization header_mode_ = Canonicalization::Relaxed;
    Canonicalization body_mode_ = Canonicalization::Relaxed;
    BodyCanonicalizer canonicalizer_;
    Sha256 body_hash_;
    Sha256 header_hash_;
    Sha256 signature_hash_;
    std::string scratch_;
    std::string signed_names_;
    std::vector<const HeaderField*> signed_fields_;
};

// The base64 signature of `digest` (the SHA-256 of the signed data) by `key`.
Result<std::string> sign_digest(const SigningKey& key, const Sha256Digest& digest);

std::string base64_encode(std::string_view bytes);

}  // namespace snm::milter
