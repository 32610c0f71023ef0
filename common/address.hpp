// address.hpp — e-mail address and domain handling shared by every component.
//
// Addresses are compared the way Postfix looks them up in its maps: the whole
// address folded to lower case. A recipient delimiter ("+" by default; Postfix
// allows several delimiter characters) splits "user+ext@domain" into the base
// address and the extension.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace snm {

// Longest address snm accepts: RFC 5321's 64-octet local part, "@", and a
// 255-octet domain. Lookup keys are built in fixed buffers of this size.
inline constexpr std::size_t kMaxAddressLength = 64 + 1 + 255;

struct AddressParts {
    std::string_view local;   // before the last '@'
    std::string_view domain;  // after it
};

// Splits at the last '@'. Returns nullopt when there is none, or either side
// is empty.
std::optional<AddressParts> split_address(std::string_view address);

// The domain of an address, or of an "@domain" wildcard; empty if none.
std::string_view domain_of(std::string_view address);

std::string to_lower(std::string_view text);
void lower_in_place(std::string& text);

// A DNS host name: labels of letters, digits and '-', not starting or ending
// with '-', 1..63 octets each, 253 octets in all, at least two labels.
bool is_valid_domain(std::string_view domain);

// A local part snm accepts in configuration: RFC 5322 dot-atom characters.
bool is_valid_local_part(std::string_view local);

// "local@domain" with a valid local part and domain.
bool is_valid_address(std::string_view address);

// Removes a recipient-delimiter extension: "user+tag@d" -> "user@d" with
// "+tag" as the extension (delimiter included). Any character of
// `delimiters` starts an extension, as in Postfix. Returns nullopt when the
// address has no extension.
struct DelimitedAddress {
    std::string base;       // "user@d"
    std::string extension;  // "+tag"
};
std::optional<DelimitedAddress> strip_extension(std::string_view address,
                                                std::string_view delimiters);

}  // namespace snm
