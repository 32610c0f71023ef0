// from_address.hpp — the domain of the one mailbox in an RFC 5322 From
// header field, which decides the signing domain (d=).
//
// Understands display names, quoted strings, nested comments, angle
// addresses (with an obsolete route) and bare addr-specs. A From with no
// mailbox, several mailboxes, a group, or a domain that is not a DNS host
// name is an error whose message says which — the milter logs it and passes
// the message unsigned.
#pragma once

#include <string>
#include <string_view>

#include "milter_limits.hpp"
#include "result.hpp"

namespace snm::milter {


// The lower-case domain of the single mailbox in `value` (the field body
// after "From:", possibly folded).
Result<std::string> from_domain(std::string_view value);

}  // namespace snm::milter
