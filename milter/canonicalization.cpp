// canonicalization.cpp — see canonicalization.hpp.
#include "canonicalization.hpp"

#include <openssl/err.h>

#include <cstring>
#include <cstdlib>

#include "ascii.hpp"

namespace snm::milter {

namespace {

// Fetched once: EVP_sha256() would look the implementation up on every init.
const EVP_MD* sha256_md() {
    static EVP_MD* md = EVP_MD_fetch(nullptr, "SHA256", nullptr);
    return md;
}

constexpr std::string_view kCrlf = "\r\n";

bool is_wsp(char c) { return c == ' ' || c == '\t'; }

// The bytes that end a run of unchanged bytes in relaxed body canonicalization.
constexpr auto kRelaxedStop = [] {
    std::array<bool, 256> stop{};
    stop[' '] = stop['\t'] = stop['\r'] = true;
    return stop;
}();

// Relaxed body canonicalization keeps a single space as it is when ordinary
// content follows it in this chunk (`next` is the byte after the space):
// not more whitespace, not a line end, not the chunk's end (unknown yet).
bool unchanged_space(const char* next, const char* end) {
    return next < end && *next != ' ' && *next != '\t' && *next != '\r';
}

}  // namespace

Sha256::Sha256() : ctx_(EVP_MD_CTX_new()) {
    if (!ctx_ || !sha256_md()) std::abort();  // out of memory or no SHA-256 provider: nothing can work
    reset();
}

void Sha256::reset() { EVP_DigestInit_ex(ctx_.get(), sha256_md(), nullptr); }

void Sha256::update(std::string_view data) {
    if (!data.empty()) EVP_DigestUpdate(ctx_.get(), data.data(), data.size());
}

Sha256Digest Sha256::finish() {
    Sha256Digest digest{};
    unsigned size = 0;
    EVP_DigestFinal_ex(ctx_.get(), digest.data(), &size);
    reset();
    return digest;
}

void Sha256::copy_from(const Sha256& other) { EVP_MD_CTX_copy_ex(ctx_.get(), other.ctx_.get()); }

BodyCanonicalizer::BodyCanonicalizer() { out_.reserve(kOutputBuffer); }

void BodyCanonicalizer::reset(Canonicalization mode) {
    mode_ = mode;
    out_.clear();
    pending_crlf_ = 0;
    pending_space_ = false;
    pending_cr_ = false;
    emitted_ = false;
}

void BodyCanonicalizer::drain(ByteSink& sink) {
    if (!out_.empty()) sink.write(out_);
    out_.clear();
}

void BodyCanonicalizer::emit(std::string_view bytes, ByteSink& sink) {
    if (out_.size() + bytes.size() > kOutputBuffer) {
        drain(sink);
        if (bytes.size() >= kOutputBuffer) {
            sink.write(bytes);
            return;
        }
    }
    out_.append(bytes);
}

void BodyCanonicalizer::line_end() {
    pending_space_ = false;  // whitespace at the end of a line is dropped (relaxed)
    ++pending_crlf_;
}

void BodyCanonicalizer::update(std::string_view chunk, ByteSink& sink) {
    const bool relaxed = mode_ == Canonicalization::Relaxed;
    const char* p = chunk.data();
    const char* const end = p + chunk.size();
    // Content is about to follow: the held-back line ends and whitespace were not trailing.
    const auto flush_pending = [&] {
        for (; pending_crlf_ > 0; --pending_crlf_) emit(kCrlf, sink);
        if (pending_space_) emit(" ", sink);
        pending_space_ = false;
        emitted_ = true;
    };
    if (pending_cr_ && p < end) {
        pending_cr_ = false;
        if (*p == '\n') {
            line_end();
            ++p;
        } else {
            flush_pending();
            emit("\r", sink);
        }
    }
    while (p < end) {
        const char c = *p;
        if (c == '\r') {
            if (p + 1 == end) {
                pending_cr_ = true;
                break;
            }
            if (p[1] == '\n') {
                line_end();
                p += 2;
                continue;
            }
            flush_pending();
            emit("\r", sink);
            ++p;
            continue;
        }
        if (relaxed && is_wsp(c) && !(c == ' ' && !pending_space_ && unchanged_space(p + 1, end))) {
            pending_space_ = true;
            ++p;
            continue;
        }
        // A run of bytes canonicalization leaves as they are goes out in one
        // piece: relaxed, that is a line's words and the single spaces between them.
        const char* run_end = p + 1;
        if (relaxed) {
            for (;;) {
                while (run_end < end && !kRelaxedStop[static_cast<unsigned char>(*run_end)]) ++run_end;
                if (run_end == end || *run_end != ' ' || !unchanged_space(run_end + 1, end)) break;
                run_end += 2;  // a kept space and the ordinary byte after it
            }
        } else {
            const void* cr = std::memchr(run_end, '\r', static_cast<std::size_t>(end - run_end));
            run_end = cr ? static_cast<const char*>(cr) : end;
        }
        flush_pending();
        emit(std::string_view(p, static_cast<std::size_t>(run_end - p)), sink);
        p = run_end;
    }
}

void BodyCanonicalizer::finish(ByteSink& sink) {
    if (pending_cr_) {  // a lone CR at the very end is content
        pending_cr_ = false;
        for (; pending_crlf_ > 0; --pending_crlf_) emit(kCrlf, sink);
        if (pending_space_) emit(" ", sink);
        emit("\r", sink);
        emitted_ = true;
    }
    // simple: the body ends with exactly one CRLF, an empty body is one CRLF;
    // relaxed: non-empty bodies end with one CRLF, an empty body stays empty.
    if (mode_ == Canonicalization::Simple || emitted_) emit(kCrlf, sink);
    drain(sink);
}

void canonicalize_header(Canonicalization mode, std::string_view name, std::string_view value, std::string& out) {
    if (mode == Canonicalization::Simple) {
        out.append(name).append(":").append(value).append(kCrlf);
        return;
    }
    const std::size_t name_start = out.size();
    for (char c : name) out += ascii_lower(c);
    while (out.size() > name_start && is_wsp(out.back())) out.pop_back();  // "Name :" → "name:"
    out += ':';
    bool space = false, started = false;
    for (char c : value) {
        if (c == '\r' || c == '\n') continue;  // unfold
        if (is_wsp(c)) {
            space = true;
            continue;
        }
        if (space && started) out += ' ';
        space = false;
        started = true;
        out += c;
    }
    out.append(kCrlf);
}

}  // namespace snm::milter
