// http_message.hpp — HTTP/1.1 message framing (RFC 9112) for the two places
// snm speaks HTTP on a local socket: the rspamd controller client reads
// responses (sieve/http_response), and snm-policyd reads the requests of
// Dovecot's auth policy client (policyd/auth_policy).
//
// It finds the header section in the bytes received so far, checks every
// field line, and reports the start line, the fields and the body length
// (Content-Length). Chunked transfer coding is refused: neither peer uses
// it. Input is untrusted and bounded by the caller's `max_header_bytes`;
// both users' fuzz targets reach this code.
#pragma once

#include <cstddef>
#include <optional>
#include <string_view>
#include <utility>
#include <vector>

#include "result.hpp"

namespace snm {

struct HttpHead {
    std::string_view start_line;   // "HTTP/1.1 200 OK" or "POST /?command=allow HTTP/1.1"
    std::vector<std::pair<std::string_view, std::string_view>> fields;  // name, value (trimmed)
    std::optional<std::size_t> content_length;
    std::size_t size = 0;          // bytes of the header section, the empty line included

    // The first field named `name` (case-insensitive), if any.
    std::optional<std::string_view> field(std::string_view name) const;
};

// The header section at the start of `received`: std::nullopt while it is
// incomplete, an Error when it is malformed or longer than `max_header_bytes`.
// The views point into `received`.
Result<std::optional<HttpHead>> parse_http_head(std::string_view received, std::size_t max_header_bytes);

}  // namespace snm
