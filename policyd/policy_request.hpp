// policy_request.hpp — one Postfix SMTPD access policy request (Postfix's
// SMTPD_POLICY_README): "name=value" lines, ended by an empty line.
//
// parse_policy_request() looks at the start of a buffer that may hold a
// partial request, several of them, or garbage. It keeps the attributes the
// policy decides on as views into the buffer (valid until the caller moves
// or overwrites it) and ignores the others, as the protocol asks. A line or
// a request over its limit is Malformed as soon as the limit is passed, so a
// peer cannot make the reader buffer more than kMaxPolicyRequest bytes.
#pragma once

#include <cstddef>
#include <string_view>

#include "policyd_limits.hpp"

namespace snm::policyd {

struct PolicyRequest {
    std::string_view request;         // must be "smtpd_access_policy"
    std::string_view protocol_state;  // CONNECT, EHLO, MAIL, RCPT, DATA, …
    std::string_view policy_context;  // set per check_policy_service (Postfix 3.1+)
    std::string_view queue_id;
    std::string_view client_address;
    std::string_view client_name;
    std::string_view sender;
    std::string_view recipient;
    std::string_view sasl_username;
};

struct PolicyParsed {
    enum class Status {
        Complete,   // request holds the attributes; consumed includes the empty line
        NeedMore,   // a valid prefix of a request: read more
        Malformed,  // see error
    };
    Status status = Status::NeedMore;
    std::size_t consumed = 0;
    const char* error = "";
};

// Parses the request at the start of `input` into `request` (reset first).
PolicyParsed parse_policy_request(std::string_view input, PolicyRequest& request);

}  // namespace snm::policyd
