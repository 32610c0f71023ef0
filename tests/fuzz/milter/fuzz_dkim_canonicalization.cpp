// Fuzz target: body and header canonicalization. The first byte picks the
// mode and a chunk size; the oracles: the streamed canonicalizer, fed in
// chunks or whole, gives exactly the bytes of RFC 6376 §3.4.3/§3.4.4
// written out plainly below (line by line, the whole body at once), and
// canonical headers are one line ending in CRLF.
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "canonicalization.hpp"

namespace {

class StringSink final : public snm::milter::ByteSink {
public:
    void write(std::string_view bytes) override { out.append(bytes); }
    std::string out;
};

std::string canonical_body(snm::Canonicalization mode, std::string_view body, std::size_t chunk) {
    snm::milter::BodyCanonicalizer canonicalizer;
    canonicalizer.reset(mode);
    StringSink sink;
    for (std::size_t at = 0; at < body.size(); at += chunk) canonicalizer.update(body.substr(at, chunk), sink);
    canonicalizer.finish(sink);
    return sink.out;
}

// The reference: split at CRLF (a lone CR or LF is an ordinary byte);
// relaxed: whitespace runs become one space, whitespace at line ends goes;
// then empty lines at the end go, every line ends in CRLF, and an empty
// body is one CRLF (simple) or nothing (relaxed).
std::string reference_body(snm::Canonicalization mode, std::string_view body) {
    std::vector<std::string> lines;
    for (std::size_t start = 0;;) {
        const auto crlf = body.find("\r\n", start);
        lines.emplace_back(body.substr(start, crlf == std::string_view::npos ? std::string_view::npos : crlf - start));
        if (crlf == std::string_view::npos) break;
        start = crlf + 2;
    }
    if (mode == snm::Canonicalization::Relaxed)
        for (auto& line : lines) {
            std::string reduced;
            bool space = false;
            for (const char c : line) {
                if (c == ' ' || c == '\t') {
                    space = true;
                    continue;
                }
                if (space) reduced += ' ';
                space = false;
                reduced += c;
            }
            line = reduced;
        }
    while (!lines.empty() && lines.back().empty()) lines.pop_back();
    std::string out;
    for (const auto& line : lines) out += line + "\r\n";
    if (mode == snm::Canonicalization::Simple && out.empty()) out = "\r\n";
    return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size < 1) return 0;
    const auto mode = (data[0] & 1) ? snm::Canonicalization::Relaxed : snm::Canonicalization::Simple;
    const std::size_t chunk = 1 + (data[0] >> 1);
    const std::string_view input(reinterpret_cast<const char*>(data + 1), size - 1);

    const auto expected = reference_body(mode, input);
    if (canonical_body(mode, input, input.size() + 1) != expected) __builtin_trap();
    if (canonical_body(mode, input, chunk) != expected) __builtin_trap();

    // Header: the input split at its first ':' into name and value.
    const auto colon = input.find(':');
    std::string header;
    snm::milter::canonicalize_header(mode, input.substr(0, colon == std::string_view::npos ? 0 : colon),
                                     colon == std::string_view::npos ? input : input.substr(colon + 1), header);
    if (!header.ends_with("\r\n")) __builtin_trap();
    const auto value = header.substr(header.find(':') + 1);
    if (mode == snm::Canonicalization::Relaxed && value.substr(0, value.size() - 2).find_first_of("\r\n") != std::string::npos)
        __builtin_trap();
    return 0;
}
