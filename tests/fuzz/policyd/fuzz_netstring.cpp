// Fuzz target: decode_netstring() over arbitrary bytes, as the socketmap
// server reads them — every netstring in the input in turn, with the
// server's limit. Checks that a decoded payload lies inside the input, that
// nothing past the limit is ever accepted, and that re-encoding a payload
// decodes to the same bytes.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "netstring.hpp"
#include "socketmap.hpp"

using namespace snm::policyd;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    std::string_view input(reinterpret_cast<const char*>(data), size);
    std::string encoded;
    for (;;) {
        const auto decoded = decode_netstring(input, kMaxSocketmapRequest);
        if (decoded.status != NetstringDecoded::Status::Complete) break;
        if (decoded.consumed == 0 || decoded.consumed > input.size()) std::abort();
        if (decoded.payload.size() > kMaxSocketmapRequest) std::abort();
        if (decoded.payload.data() < input.data() ||
            decoded.payload.data() + decoded.payload.size() > input.data() + input.size())
            std::abort();
        encoded.clear();
        append_netstring(encoded, decoded.payload);
        const auto again = decode_netstring(encoded, kMaxSocketmapRequest);
        if (again.status != NetstringDecoded::Status::Complete || again.payload != decoded.payload ||
            again.consumed != encoded.size())
            std::abort();
        input.remove_prefix(decoded.consumed);
    }
    return 0;
}
