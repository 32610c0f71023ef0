// Fuzz target: parse_auth_policy_request() over arbitrary bytes, as the
// auth policy listener reads them — every request in the input in turn —
// and each complete request answered. Checks that no request over the
// limits is accepted and that a NeedMore answer never comes with more than
// the limits buffered (the server's memory bound).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "auth_policy.hpp"

using namespace snm::policyd;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    std::string_view input(reinterpret_cast<const char*>(data), size);
    static LoginFailures failures(64, 64);  // small: eviction is exercised too
    AuthPolicyRequest request;
    for (;;) {
        const auto parsed = parse_auth_policy_request(input, request);
        if (parsed.status == AuthPolicyParsed::Status::NeedMore) {
            if (input.size() > kMaxAuthPolicyHeader + kMaxAuthPolicyBody) std::abort();
            break;
        }
        if (parsed.status == AuthPolicyParsed::Status::Malformed) break;
        if (parsed.consumed == 0 || parsed.consumed > input.size() ||
            parsed.consumed > kMaxAuthPolicyHeader + kMaxAuthPolicyBody)
            std::abort();
        const auto answer = answer_auth_policy(nullptr, failures, request, "fuzz-key-0123456789", ThrottleClock::now());
        if (answer.response.empty()) std::abort();
        input.remove_prefix(parsed.consumed);
    }
    return 0;
}
