// Fuzz target: parse_policy_request() over arbitrary bytes, as the policy
// server reads them — every request in the input in turn. Checks that kept
// attributes lie inside the input, that no request over the limit is
// accepted, and that a NeedMore answer never comes with more than the limit
// buffered (the server's memory bound).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "policy_request.hpp"

using namespace snm::policyd;

namespace {

bool inside(std::string_view part, std::string_view whole) {
    return part.empty() || (part.data() >= whole.data() && part.data() + part.size() <= whole.data() + whole.size());
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    std::string_view input(reinterpret_cast<const char*>(data), size);
    PolicyRequest request;
    for (;;) {
        const auto parsed = parse_policy_request(input, request);
        if (parsed.status == PolicyParsed::Status::NeedMore) {
            if (input.size() > kMaxPolicyRequest) std::abort();
            break;
        }
        if (parsed.status == PolicyParsed::Status::Malformed) break;
        if (parsed.consumed == 0 || parsed.consumed > input.size() || parsed.consumed > kMaxPolicyRequest)
            std::abort();
        const auto whole = input.substr(0, parsed.consumed);
        for (const auto field : {request.request, request.protocol_state, request.policy_context, request.queue_id,
                                 request.client_address, request.client_name, request.sender, request.recipient,
                                 request.sasl_username})
            if (!inside(field, whole) || field.find('\n') != std::string_view::npos) std::abort();
        input.remove_prefix(parsed.consumed);
    }
    return 0;
}
