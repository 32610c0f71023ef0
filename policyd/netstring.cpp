// netstring.cpp — see netstring.hpp.
#include "netstring.hpp"

#include <fmt/format.h>

namespace snm::policyd {

NetstringDecoded decode_netstring(std::string_view input, std::size_t max_payload) {
    using Status = NetstringDecoded::Status;
    NetstringDecoded result;
    const auto malformed = [&](const char* why) {
        result.status = Status::Malformed;
        result.error = why;
        return result;
    };
    std::size_t length = 0;
    std::size_t digits = 0;
    for (;; ++digits) {
        if (digits == input.size()) return result;  // NeedMore
        const char c = input[digits];
        if (c == ':') break;
        if (c < '0' || c > '9') return malformed(digits == 0 ? "netstring does not start with a length"
                                                             : "netstring length is not a decimal number");
        if (digits == kMaxNetstringDigits) return malformed("netstring length has too many digits");
        length = length * 10 + static_cast<std::size_t>(c - '0');
        if (length > max_payload) return malformed("netstring is longer than the limit");
    }
    if (digits == 0) return malformed("netstring has an empty length");
    const std::size_t start = digits + 1;
    if (input.size() - start < length + 1) return result;  // NeedMore
    if (input[start + length] != ',') return malformed("netstring does not end with a comma");
    result.status = Status::Complete;
    result.payload = input.substr(start, length);
    result.consumed = start + length + 1;
    return result;
}

void append_netstring(std::string& out, std::string_view payload) {
    fmt::format_to(std::back_inserter(out), "{}:", payload.size());
    out.append(payload);
    out.push_back(',');
}

}  // namespace snm::policyd
