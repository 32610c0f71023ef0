// http_response.hpp — parser for the HTTP/1.x responses of rspamd's controller.
//
// The learning client reads a reply into a bounded buffer and asks this
// parser, after every read, whether the reply is complete. It understands
// what rspamd sends: a status line, headers, and a body delimited by
// Content-Length or by the end of the connection. Chunked transfer coding is
// refused with an error (rspamd never uses it for controller replies).
// Input is untrusted (it comes off a socket) and is fuzzed
// (tests/fuzz/sieve/fuzz_http_response.cpp).
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

#include "result.hpp"

namespace snm::sieve {

// Longest header section accepted (status line and headers): rspamd's are
// a few hundred bytes.
inline constexpr std::size_t kMaxHttpHeaderBytes = 16 * 1024;

struct HttpResponse {
    int status = 0;          // 100..999
    std::string reason;      // the reason phrase, possibly empty
    std::string body;
};

// Parses `received`, the bytes read so far. `at_eof` says the peer closed
// the connection (then a body without Content-Length ends here).
// Returns the response when complete, std::nullopt when more bytes are
// needed, or an Error for a malformed or unsupported response.
Result<std::optional<HttpResponse>> parse_http_response(std::string_view received, bool at_eof);

}  // namespace snm::sieve
