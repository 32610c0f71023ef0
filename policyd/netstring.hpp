// netstring.hpp — the framing of Postfix's socketmap protocol:
// "<length>:<payload>," with the length in decimal (D. J. Bernstein's
// netstrings, as Postfix's netstring(3) reads and writes them).
//
// decode_netstring() looks at the start of a buffer that may hold a partial
// netstring, several of them, or garbage; it never reads past the buffer and
// refuses a length over the caller's limit before waiting for the payload,
// so a peer cannot make the reader buffer more than that limit.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "policyd_limits.hpp"

namespace snm::policyd {

struct NetstringDecoded {
    enum class Status {
        Complete,   // payload is valid; consumed bytes make up the netstring
        NeedMore,   // a valid prefix of a netstring: read more
        Malformed,  // not a netstring, or longer than the limit: see error
    };
    Status status = Status::NeedMore;
    std::string_view payload;   // Complete: a view into the input
    std::size_t consumed = 0;   // Complete: bytes of the whole netstring
    const char* error = "";     // Malformed: what is wrong, for the log
};

// Decodes the netstring at the start of `input`; payloads longer than
// `max_payload` are Malformed.
NetstringDecoded decode_netstring(std::string_view input, std::size_t max_payload);

// Appends `payload` as a netstring to `out`.
void append_netstring(std::string& out, std::string_view payload);

}  // namespace snm::policyd
