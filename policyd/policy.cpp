// policy.cpp — see policy.hpp.
#include "policy.hpp"

namespace snm::policyd {

namespace {

// Postfix's 4.x.x code for "try again later" and the text it shows.
constexpr std::string_view kNoSnapshotAction = "DEFER_IF_PERMIT 4.3.0 routing data unavailable, try again later";

PolicyDecision dunno(std::string& action) {
    action.assign("DUNNO");
    return {PolicyOutcome::Dunno, {}};
}

// An action is one line: control characters in the configured text become spaces.
PolicyDecision reject(std::string& action, std::string_view text, std::string_view reason) {
    action.assign("REJECT");
    if (!text.empty()) action.append(" ");
    for (const char c : text) action.push_back(static_cast<unsigned char>(c) < 0x20 ? ' ' : c);
    return {PolicyOutcome::Reject, reason};
}

}  // namespace

PolicyDecision decide_policy(const RoutingSnapshot* routing, const PolicyRequest& request, std::string& action,
                             LookupScratch& scratch) {
    const bool sender_context = request.policy_context != "recipient";
    const bool recipient_context = request.policy_context != "sender";
    const bool at_rcpt = request.protocol_state == "RCPT";
    const bool sender_stage = at_rcpt || request.protocol_state == "MAIL";
    const bool authenticated = !request.sasl_username.empty();
    if (!sender_stage) return dunno(action);
    if (!routing) {
        action.assign(kNoSnapshotAction);
        return {PolicyOutcome::Defer, "no routing snapshot"};
    }

    if (sender_context && !request.sender.empty()) {
        if (authenticated) {
            if (!routing->owns_sender(request.sasl_username, request.sender, scratch.owners)) {
                action.assign("553 5.7.1 not owned by user ");
                action.append(request.sasl_username);
                return {PolicyOutcome::Reject, "sender not owned by the login"};
            }
        } else if (routing->is_rejected_sender(request.sender)) {
            return reject(action, {}, "rejectSender");
        }
    }

    if (recipient_context && at_rcpt && !request.recipient.empty()) {
        if (const auto message = routing->send_only_message(request.recipient))
            return reject(action, *message, "send-only account");
        if (!authenticated && routing->is_rejected_recipient(request.recipient))
            return reject(action, {}, "rejectRecipients");
    }
    return dunno(action);
}

}  // namespace snm::policyd
