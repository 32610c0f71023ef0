// policy.cpp — see policy.hpp.
#include "policy.hpp"

namespace snm::policyd {

namespace {

// Postfix's 4.x.x code for "try again later" and the text it shows.
constexpr std::string_view kNoSnapshotAction = "DEFER_IF_PERMIT 4.3.0 routing data unavailable, try again later";

PolicyDecision defer(std::string& action, std::string_view reason) {
    action.assign(kNoSnapshotAction);
    return {PolicyOutcome::Defer, reason};
}

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
    if (!routing) return defer(action, "no routing snapshot");
    constexpr std::string_view kUnreadable = "routing snapshot unreadable";

    if (sender_context && !request.sender.empty()) {
        if (authenticated) {
            const auto owned = routing->owns_sender(request.sasl_username, request.sender, scratch.owners);
            if (owned == Find::Failed) return defer(action, kUnreadable);
            if (owned == Find::NotFound) {
                action.assign("553 5.7.1 not owned by user ");
                action.append(request.sasl_username);
                return {PolicyOutcome::Reject, "sender not owned by the login"};
            }
        } else if (const auto rejected = routing->is_rejected_sender(request.sender); rejected != Find::NotFound) {
            return rejected == Find::Found ? reject(action, {}, "rejectSender") : defer(action, kUnreadable);
        }
    }

    if (recipient_context && at_rcpt && !request.recipient.empty()) {
        if (const auto send_only = routing->send_only_message(request.recipient, scratch.answer);
            send_only != Find::NotFound)
            return send_only == Find::Found ? reject(action, scratch.answer, "send-only account")
                                            : defer(action, kUnreadable);
        if (!authenticated) {
            if (const auto rejected = routing->is_rejected_recipient(request.recipient); rejected != Find::NotFound)
                return rejected == Find::Found ? reject(action, {}, "rejectRecipients") : defer(action, kUnreadable);
        }
    }
    return dunno(action);
}

}  // namespace snm::policyd
