// canonicalization.hpp — DKIM canonicalization (RFC 6376 §3.4) and the
// SHA-256 hashing it feeds.
//
// The body canonicalizer is streamed: chunks go in as the MTA sends them,
// canonical bytes come out in bounded pieces to a sink (the body hash), so a
// message is never copied whole. Line ends are CRLF; a CR or LF alone is an
// ordinary character (Postfix sends CRLF, so bare LFs in the original mail
// reach us already normalised). Trailing empty lines are held back until
// content follows them and dropped at the end.
#pragma once

#include <openssl/evp.h>

#include <array>
#include <memory>
#include <string>
#include <string_view>

#include "config.hpp"

namespace snm::milter {

inline constexpr std::size_t kSha256Size = 32;
using Sha256Digest = std::array<unsigned char, kSha256Size>;

// An incremental SHA-256 (RAII over EVP_MD_CTX); reusable after finish().
class Sha256 {
public:
    Sha256();
    void reset();
    void update(std::string_view data);
    Sha256Digest finish();
    // Continues from `other`'s state (the shared header prefix of several signatures).
    void copy_from(const Sha256& other);

private:
    struct CtxFree {
        void operator()(EVP_MD_CTX* ctx) const { EVP_MD_CTX_free(ctx); }
    };
    std::unique_ptr<EVP_MD_CTX, CtxFree> ctx_;
};

// Where canonical bytes go.
class ByteSink {
public:
    virtual ~ByteSink() = default;
    virtual void write(std::string_view bytes) = 0;
};

class Sha256Sink final : public ByteSink {
public:
    explicit Sha256Sink(Sha256& hash) : hash_(hash) {}
    void write(std::string_view bytes) override { hash_.update(bytes); }

private:
    Sha256& hash_;
};

class BodyCanonicalizer {
public:
    // Canonical bytes are buffered up to this size before reaching the sink.
    static constexpr std::size_t kOutputBuffer = 16 * 1024;

    BodyCanonicalizer();
    void reset(Canonicalization mode);
    void update(std::string_view chunk, ByteSink& sink);
    void finish(ByteSink& sink);

private:
    void line_end();
    void emit(std::string_view bytes, ByteSink& sink);
    void drain(ByteSink& sink);

    Canonicalization mode_ = Canonicalization::Relaxed;
    std::string out_;
    std::size_t pending_crlf_ = 0;  // empty lines not yet known not to be trailing
    bool pending_space_ = false;    // relaxed: whitespace seen inside the line
    bool pending_cr_ = false;       // a CR ended the last chunk
    bool emitted_ = false;          // any content so far
};

// Appends the canonical form of one header field, with its CRLF, to `out`.
// `value` is everything after the colon, folded lines separated by CRLF.
void canonicalize_header(Canonicalization mode, std::string_view name, std::string_view value, std::string& out);

}  // namespace snm::milter
