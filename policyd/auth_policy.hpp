// auth_policy.hpp — Dovecot's auth policy protocol, answered by snm-policyd:
// the brute-force protection of every login that goes through Dovecot's
// auth process (IMAP, POP3, ManageSieve, and SMTP AUTH, which Postfix hands
// to Dovecot).
//
// Dovecot (auth_policy_server_url) POSTs a JSON object to
// "/?command=allow" before it checks a password, and to "/?command=report"
// after, with the fields snmctl renders in auth_policy_request_attributes:
// {"login": …, "remote": …, "protocol": …, "tls": …} and, in a report,
// "success" and "policy_reject", with "Authorization: Bearer KEY"
// (auth_policy_server_api_header; KEY is shared through a file only root
// reads). No password and no password hash is ever
// sent. The answer is {"status": S, "msg": M}: S = 0 goes on, S > 0 makes
// Dovecot wait S seconds first, S < 0 refuses the login without checking
// the password (M is the reason the client sees).
//
// Limits: a request's header section is at most kMaxAuthPolicyHeader bytes
// and its body kMaxAuthPolicyBody; anything else malformed closes the
// connection (Dovecot then lets the login go on: auth_policy_reject_on_fail
// = no, so a policy service that is down never locks users out).
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "login_failures.hpp"
#include "routing_snapshot.hpp"
#include "policyd_limits.hpp"

namespace snm::policyd {

struct AuthPolicyRequest {
    enum class Command { Allow, Report };
    Command command = Command::Allow;
    std::string login;
    std::string remote;    // the client's address as Dovecot saw it (rip)
    std::string protocol;  // imap, pop3, sieve, smtp, …
    bool success = false;        // report only
    bool policy_reject = false;  // report only: we refused it ourselves
    std::string authorization;   // the Authorization field (auth_policy_server_api_header)
};

struct AuthPolicyParsed {
    enum class Status { Complete, NeedMore, Malformed };
    Status status = Status::NeedMore;
    std::size_t consumed = 0;  // Complete: bytes of the whole HTTP request
    std::string error;         // Malformed: why
};

// One HTTP request from the start of `input`, into `out`.
AuthPolicyParsed parse_auth_policy_request(std::string_view input, AuthPolicyRequest& out);

struct AuthPolicyAnswer {
    std::string response;  // the whole HTTP response
    std::string log_line;  // one line for the log, empty when nothing was decided
    bool warning = false;  // log_line is worth a warning (a ban, a refusal)
};

// Decides `request` from `failures` and the limits in `routing` (none: every
// login goes on, nothing is counted) at time `now`. A request whose
// Authorization is not "Bearer `key`" is answered 401 and counts nothing:
// the listener is on loopback, and without the key any local user could
// ban any address by reporting failures for it.
AuthPolicyAnswer answer_auth_policy(const RoutingSnapshot* routing, LoginFailures& failures,
                                    const AuthPolicyRequest& request, std::string_view key,
                                    ThrottleClock::time_point now);

// The HTTP response refusing a malformed request (then the connection closes).
std::string auth_policy_bad_request();

}  // namespace snm::policyd
