// signer.cpp — see signer.hpp.
#include "signer.hpp"

#include <openssl/err.h>
#include <openssl/rsa.h>

#include <fmt/format.h>

#include "ascii.hpp"
#include "milter_limits.hpp"

namespace snm::milter {

namespace {

// Column at which the DKIM-Signature's h= and b= values are folded.
constexpr std::size_t kFoldColumn = 76;

struct PkeyCtxFree {
    void operator()(EVP_PKEY_CTX* ctx) const { EVP_PKEY_CTX_free(ctx); }
};
struct MdCtxFree {
    void operator()(EVP_MD_CTX* ctx) const { EVP_MD_CTX_free(ctx); }
};

std::string openssl_error() {
    const unsigned long code = ERR_get_error();
    ERR_clear_error();
    char text[256] = "unknown OpenSSL error";
    if (code != 0) ERR_error_string_n(code, text, sizeof text);
    return text;
}

const char* algorithm_tag(DkimAlgorithm algorithm) {
    return algorithm == DkimAlgorithm::Rsa ? "rsa-sha256" : "ed25519-sha256";
}

}  // namespace

std::string base64_encode(std::string_view bytes) {
    std::string out(4 * ((bytes.size() + 2) / 3), '\0');
    const int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                  reinterpret_cast<const unsigned char*>(bytes.data()), static_cast<int>(bytes.size()));
    out.resize(static_cast<std::size_t>(n));
    return out;
}

Result<std::string> sign_digest(const SigningKey& key, const Sha256Digest& digest) {
    unsigned char signature[kMaxSignatureBytes];
    std::size_t size = sizeof signature;
    if (key.algorithm == DkimAlgorithm::Rsa) {
        // RSASSA-PKCS1-v1_5 over the SHA-256 digest (RFC 6376 §3.3.1).
        std::unique_ptr<EVP_PKEY_CTX, PkeyCtxFree> ctx(EVP_PKEY_CTX_new(key.key.get(), nullptr));
        if (!ctx || EVP_PKEY_sign_init(ctx.get()) <= 0 ||
            EVP_PKEY_CTX_set_rsa_padding(ctx.get(), RSA_PKCS1_PADDING) <= 0 ||
            EVP_PKEY_CTX_set_signature_md(ctx.get(), EVP_sha256()) <= 0 ||
            EVP_PKEY_sign(ctx.get(), signature, &size, digest.data(), digest.size()) <= 0)
            return Error{fmt::format("RSA signing for s={} d={} failed: {}", key.selector, key.domain, openssl_error()), true};
    } else {
        // PureEdDSA over the SHA-256 digest (RFC 8463 §3).
        std::unique_ptr<EVP_MD_CTX, MdCtxFree> ctx(EVP_MD_CTX_new());
        if (!ctx || EVP_DigestSignInit(ctx.get(), nullptr, nullptr, nullptr, key.key.get()) <= 0 ||
            EVP_DigestSign(ctx.get(), signature, &size, digest.data(), digest.size()) <= 0)
            return Error{fmt::format("Ed25519 signing for s={} d={} failed: {}", key.selector, key.domain, openssl_error()), true};
    }
    return base64_encode(std::string_view(reinterpret_cast<const char*>(signature), size));
}

void MessageSigner::begin(Canonicalization header, Canonicalization body) {
    header_mode_ = header;
    body_mode_ = body;
    canonicalizer_.reset(body);
    body_hash_.reset();
}

void MessageSigner::body(std::string_view chunk) {
    Sha256Sink sink(body_hash_);
    canonicalizer_.update(chunk, sink);
}

Status MessageSigner::finish(std::span<const HeaderField> headers, std::span<const SigningKey* const> keys,
                             std::time_t now, std::vector<std::string>& out) {
    Sha256Sink sink(body_hash_);
    canonicalizer_.finish(sink);
    const auto body_digest = body_hash_.finish();
    const auto body_hash = base64_encode(std::string_view(reinterpret_cast<const char*>(body_digest.data()), body_digest.size()));

    // Which fields are signed, in h= order: every instance bottom-up, then
    // one empty instance of each oversigned name.
    signed_fields_.clear();
    signed_names_.clear();
    // h= follows "\tt=<10 digits>; h=" on its line.
    std::size_t column = 1 + fmt::formatted_size("t={}; h=", static_cast<long long>(now));
    const auto add_name = [&](std::string_view name) {
        if (!signed_names_.empty()) {
            signed_names_ += ':';
            ++column;
            if (column + name.size() > kFoldColumn) {
                signed_names_ += "\r\n\t";
                column = 1;
            }
        }
        signed_names_ += name;
        column += name.size();
    };
    const auto select = [&](std::string_view name, bool oversign) {
        for (auto it = headers.rbegin(); it != headers.rend(); ++it)
            if (ascii_iequals(it->name, name)) {
                signed_fields_.push_back(&*it);
                add_name(name);
            }
        if (oversign) add_name(name);
    };
    for (auto name : kOversignedHeaders) select(name, true);
    for (auto name : kSignedWhenPresent) select(name, false);

    header_hash_.reset();
    for (const HeaderField* field : signed_fields_) {
        scratch_.clear();
        canonicalize_header(header_mode_, field->name, field->value, scratch_);
        header_hash_.update(scratch_);
    }

    for (const SigningKey* key : keys) {
        std::string value = fmt::format(" v=1; a={}; c={}/{}; d={}; s={};\r\n\tt={}; h={};\r\n\tbh={};\r\n\tb=",
                                        algorithm_tag(key->algorithm), to_string(header_mode_), to_string(body_mode_),
                                        key->domain, key->selector, static_cast<long long>(now), signed_names_, body_hash);
        // The signature field itself is hashed last, with an empty b= and no final CRLF (RFC 6376 §3.7).
        scratch_.clear();
        canonicalize_header(header_mode_, "DKIM-Signature", value, scratch_);
        scratch_.resize(scratch_.size() - 2);
        signature_hash_.copy_from(header_hash_);
        signature_hash_.update(scratch_);
        auto signature = sign_digest(*key, signature_hash_.finish());
        if (!signature) return signature.error();
        std::size_t line = 3;  // "\tb="
        for (std::size_t at = 0; at < signature->size();) {
            const std::size_t take = std::min(kFoldColumn - line, signature->size() - at);
            value.append(*signature, at, take);
            at += take;
            if (at < signature->size()) {
                value += "\r\n\t";
                line = 1;
            }
        }
        out.push_back(std::move(value));
    }
    return success();
}

}  // namespace snm::milter
