// policy_request.cpp — see policy_request.hpp.
#include "policy_request.hpp"

#include <array>
#include <utility>

namespace snm::policyd {

namespace {

// The attributes kept, and where each goes.
using Field = std::string_view PolicyRequest::*;
constexpr std::array<std::pair<std::string_view, Field>, 9> kFields{{
    {"request", &PolicyRequest::request},
    {"protocol_state", &PolicyRequest::protocol_state},
    {"policy_context", &PolicyRequest::policy_context},
    {"queue_id", &PolicyRequest::queue_id},
    {"client_address", &PolicyRequest::client_address},
    {"client_name", &PolicyRequest::client_name},
    {"sender", &PolicyRequest::sender},
    {"recipient", &PolicyRequest::recipient},
    {"sasl_username", &PolicyRequest::sasl_username},
}};

}  // namespace

PolicyParsed parse_policy_request(std::string_view input, PolicyRequest& request) {
    using Status = PolicyParsed::Status;
    request = PolicyRequest{};
    PolicyParsed result;
    const auto malformed = [&](const char* why) {
        result.status = Status::Malformed;
        result.error = why;
        return result;
    };
    std::size_t position = 0;
    std::size_t attributes = 0;
    for (;;) {
        const auto rest = input.substr(position);
        const auto newline = rest.find('\n');
        if (newline == std::string_view::npos) {
            if (rest.size() > kMaxPolicyLine) return malformed("policy request line is longer than the limit");
            if (input.size() > kMaxPolicyRequest) return malformed("policy request is larger than the limit");
            return result;  // NeedMore
        }
        if (newline > kMaxPolicyLine) return malformed("policy request line is longer than the limit");
        if (position + newline + 1 > kMaxPolicyRequest) return malformed("policy request is larger than the limit");
        const auto line = rest.substr(0, newline);
        position += newline + 1;
        if (line.empty()) {
            if (attributes == 0) return malformed("policy request is empty");
            result.status = Status::Complete;
            result.consumed = position;
            return result;
        }
        if (++attributes > kMaxPolicyAttributes) return malformed("policy request has too many attributes");
        const auto equals = line.find('=');
        if (equals == std::string_view::npos) return malformed("policy request line is not name=value");
        if (equals == 0) return malformed("policy request attribute has an empty name");
        const auto name = line.substr(0, equals);
        for (const auto& [known, field] : kFields) {
            if (name == known) {
                request.*field = line.substr(equals + 1);  // the last value wins
                break;
            }
        }
    }
}

}  // namespace snm::policyd
