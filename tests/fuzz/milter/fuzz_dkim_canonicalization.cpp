// Fuzz target: body and header canonicalization. The first byte picks the
// mode and a chunk size; the oracle is that canonicalizing the body in
// chunks gives exactly the bytes of canonicalizing it whole, and that the
// output never ends in more than one CRLF or holds a bare-LF line end.
#include <cstddef>
#include <cstdint>
#include <string>

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

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size < 1) return 0;
    const auto mode = (data[0] & 1) ? snm::Canonicalization::Relaxed : snm::Canonicalization::Simple;
    const std::size_t chunk = 1 + (data[0] >> 1);
    const std::string_view input(reinterpret_cast<const char*>(data + 1), size - 1);

    const auto whole = canonical_body(mode, input, input.size() + 1);
    if (canonical_body(mode, input, chunk) != whole) __builtin_trap();
    if (whole.size() >= 4 && whole.ends_with("\r\n\r\n")) __builtin_trap();
    if (mode == snm::Canonicalization::Simple && !whole.ends_with("\r\n")) __builtin_trap();

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
