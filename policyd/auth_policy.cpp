// auth_policy.cpp — see auth_policy.hpp.
#include "auth_policy.hpp"

#include <fmt/format.h>

#include <nlohmann/json.hpp>

#include "ascii.hpp"
#include "http_message.hpp"

namespace snm::policyd {

namespace {

AuthPolicyParsed malformed(std::string error) {
    return {AuthPolicyParsed::Status::Malformed, 0, std::move(error)};
}

std::string http_response(std::string_view status_line, std::string_view body) {
    return fmt::format("HTTP/1.1 {}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{}", status_line,
                       body.size(), body);
}

std::string answer(int status, std::string_view message = {}) {
    nlohmann::json body = {{"status", status}};
    if (!message.empty()) body["msg"] = std::string(message);
    return http_response("200 OK", body.dump());
}

// "POST /?command=allow HTTP/1.1" → the command.
std::optional<AuthPolicyRequest::Command> command_of(std::string_view request_line, std::string& error) {
    const auto first = request_line.find(' ');
    const auto last = request_line.rfind(' ');
    if (first == std::string_view::npos || first == last || !request_line.substr(last + 1).starts_with("HTTP/1.")) {
        error = fmt::format("malformed HTTP request line `{}`", request_line.substr(0, 80));
        return std::nullopt;
    }
    if (request_line.substr(0, first) != "POST") {
        error = fmt::format("HTTP method `{}` is not POST", request_line.substr(0, std::min<std::size_t>(first, 20)));
        return std::nullopt;
    }
    const auto target = request_line.substr(first + 1, last - first - 1);
    const auto query = target.find('?');
    for (auto rest = query == std::string_view::npos ? std::string_view{} : target.substr(query + 1); !rest.empty();) {
        const auto amp = rest.find('&');
        const auto parameter = rest.substr(0, amp);
        if (parameter == "command=allow") return AuthPolicyRequest::Command::Allow;
        if (parameter == "command=report") return AuthPolicyRequest::Command::Report;
        rest = amp == std::string_view::npos ? std::string_view{} : rest.substr(amp + 1);
    }
    error = fmt::format("request target `{}` has no command=allow or command=report", target.substr(0, 80));
    return std::nullopt;
}

bool string_field(const nlohmann::json& body, const char* name, std::string& out) {
    const auto found = body.find(name);
    if (found == body.end()) return true;  // Dovecot leaves out what it does not know
    if (!found->is_string()) return false;
    out = found->get<std::string>();
    return true;
}

bool bool_field(const nlohmann::json& body, const char* name, bool& out) {
    const auto found = body.find(name);
    if (found == body.end()) return true;
    if (!found->is_boolean()) return false;
    out = found->get<bool>();
    return true;
}

// Whether `authorization` is "Bearer `key`", in time independent of where
// they differ.
bool authorized(std::string_view authorization, std::string_view key) {
    constexpr std::string_view kScheme = "Bearer ";
    if (authorization.size() != kScheme.size() + key.size() || !ascii_iequals(authorization.substr(0, kScheme.size()), kScheme))
        return false;
    unsigned char difference = 0;
    for (std::size_t i = 0; i < key.size(); ++i)
        difference |= static_cast<unsigned char>(authorization[kScheme.size() + i] ^ key[i]);
    return difference == 0;
}

}  // namespace

AuthPolicyParsed parse_auth_policy_request(std::string_view input, AuthPolicyRequest& out) {
    auto head = parse_http_head(input, kMaxAuthPolicyHeader);
    if (!head) return malformed(head.error().message);
    if (!*head) return {};
    std::string error;
    const auto command = command_of((*head)->start_line, error);
    if (!command) return malformed(error);
    const auto length = (*head)->content_length;
    if (!length) return malformed("the request has no Content-Length");
    if (*length > kMaxAuthPolicyBody)
        return malformed(fmt::format("the request body of {} bytes is over the limit of {}", *length, kMaxAuthPolicyBody));
    if (input.size() - (*head)->size < *length) return {};

    const auto text = input.substr((*head)->size, *length);
    const auto body = nlohmann::json::parse(text.begin(), text.end(), nullptr, /*allow_exceptions=*/false);
    if (body.is_discarded() || !body.is_object()) return malformed("the request body is not a JSON object");
    out = AuthPolicyRequest{};
    out.command = *command;
    if (const auto authorization = (*head)->field("Authorization")) out.authorization = std::string(*authorization);
    if (!string_field(body, "login", out.login) || !string_field(body, "remote", out.remote) ||
        !string_field(body, "protocol", out.protocol) || !bool_field(body, "success", out.success) ||
        !bool_field(body, "policy_reject", out.policy_reject))
        return malformed("a field of the request body has the wrong type");
    return {AuthPolicyParsed::Status::Complete, (*head)->size + *length, {}};
}

std::string auth_policy_bad_request() {
    return "HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
}

AuthPolicyAnswer answer_auth_policy(const RoutingSnapshot* routing, LoginFailures& failures,
                                    const AuthPolicyRequest& request, std::string_view key,
                                    ThrottleClock::time_point now) {
    AuthPolicyAnswer out;
    if (!authorized(request.authorization, key)) {
        out.response = http_response("401 Unauthorized", R"({"status":0,"msg":"wrong or missing key"})");
        out.log_line = "auth policy: ignored a request without the right key (Authorization: Bearer; see "
                       "auth_policy_server_api_header)";
        out.warning = true;
        return out;
    }
    out.response = answer(0);
    if (!routing || !routing->login_throttle().enable) return out;
    const auto client = parse_ip_address(request.remote);
    if (!client || routing->login_allow().contains(*client)) return out;  // no address: a local doveadm test
    const auto& limits = routing->login_throttle();
    const auto who = fmt::format("login={} from {} ({})", request.login.substr(0, kMaxAccountKey), request.remote,
                                 request.protocol.substr(0, 20));

    if (request.command == AuthPolicyRequest::Command::Allow) {
        const auto verdict = failures.check(*client, request.login, limits, now);
        if (verdict.kind == ThrottleVerdict::Kind::Refuse) {
            out.response = answer(-1, "Too many failed logins from your address; try again later");
            out.log_line = fmt::format("auth policy: refuse {}: address banned for {} s more", who, verdict.seconds);
            out.warning = true;
        } else if (verdict.kind == ThrottleVerdict::Kind::Delay) {
            out.response = answer(static_cast<int>(verdict.seconds));
            out.log_line = fmt::format("auth policy: delay {} by {} s: over {} failed logins on the account within {} s",
                                       who, verdict.seconds, limits.accountMaxFailures, limits.findTime);
        }
        return out;
    }
    // A report. Our own refusals are not failures of the client's password.
    if (request.success || request.policy_reject) return out;
    const auto recorded = failures.record_failure(*client, request.login, limits, now);
    if (recorded.ban_seconds > 0) {
        out.log_line = fmt::format("auth policy: ban {} for {} s after {} failed logins within {} s (last: {})",
                                   request.remote, recorded.ban_seconds, recorded.address_failures, limits.findTime, who);
        out.warning = true;
    }
    return out;
}

}  // namespace snm::policyd
