// policy.hpp — the decisions snm-policyd makes for Postfix's
// check_policy_service, from the routing snapshot.
//
// Postfix words a rejection as "<name>: <Sender|Recipient> address
// rejected: <text>", naming the restriction list the check sits in. So the
// service is listed twice, each time with a policy_context saying which
// decisions belong there:
//
//   policy_context=sender     (smtpd_sender_restrictions; MAIL or RCPT)
//     authenticated: the sender must be owned by the login (own address,
//       aliases incl. "@domain", extraVirtualAliases, sendAs), else
//       "553 5.7.1 not owned by user <login>", which Postfix sends as
//       "<sender>: Sender address rejected: not owned by user <login>";
//     not authenticated: rejectSender -> REJECT.
//   policy_context=recipient  (smtpd_recipient_restrictions; RCPT)
//     a sendOnly account -> REJECT <its sendOnlyRejectMessage>;
//     not authenticated: rejectRecipients -> REJECT.
//   any other or no policy_context: all of the above, sender first.
//
// Everything else is DUNNO. Without a routing snapshot, or when it cannot
// be read, the answer is DEFER_IF_PERMIT: mail waits, nothing bounces.
#pragma once

#include <string>
#include <string_view>

#include "policy_request.hpp"
#include "routing_snapshot.hpp"
#include "socketmap.hpp"

namespace snm::policyd {

enum class PolicyOutcome { Dunno, Reject, Defer };

struct PolicyDecision {
    PolicyOutcome outcome = PolicyOutcome::Dunno;
    std::string_view reason;  // for the log line: why (static text)
};

// Decides `request` and writes the action (the text after "action=") into
// `action` (replaced). `routing` may be null (no snapshot).
PolicyDecision decide_policy(const RoutingSnapshot* routing, const PolicyRequest& request, std::string& action,
                             LookupScratch& scratch);

}  // namespace snm::policyd
