// Dovecot's auth policy protocol: HTTP framing, the JSON body, and the
// answers snm-policyd gives from the routing snapshot's loginThrottle.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "auth_policy.hpp"
#include "routing_fixture.hpp"

using namespace snm::policyd;
using ::testing::HasSubstr;

namespace {

constexpr const char* kKey = "0123456789abcdef0123456789abcdef";

std::string http(const std::string& target, const std::string& body, const std::string& key = kKey) {
    return "POST " + target + " HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer " + key +
           "\r\nContent-Type: application/json\r\nContent-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
}

std::string allow(const std::string& remote) {
    return http("/?command=allow",
                R"({"login":"user1@example.com","remote":")" + remote + R"(","protocol":"imap","tls":true})");
}

std::string failed(const std::string& remote) {
    return http("/?command=report", R"({"login":"user1@example.com","remote":")" + remote +
                                        R"(","protocol":"imap","tls":true,"success":false,"policy_reject":false})");
}

class AuthPolicy : public snm::testing::RoutingFixture {
protected:
    AuthPolicyAnswer send(const std::string& bytes) {
        AuthPolicyRequest request;
        const auto parsed = parse_auth_policy_request(bytes, request);
        EXPECT_EQ(parsed.status, AuthPolicyParsed::Status::Complete) << parsed.error;
        EXPECT_EQ(parsed.consumed, bytes.size());
        return answer_auth_policy(routing_.get(), failures_, request, kKey, now_);
    }
    LoginFailures failures_;
    ThrottleClock::time_point now_ = ThrottleClock::now();
};

}  // namespace

TEST_F(AuthPolicy, TenFailuresBanTheAddressWithOneLogLine) {
    EXPECT_THAT(send(allow("192.0.2.7")).response, HasSubstr(R"({"status":0})"));
    for (int i = 0; i < 9; ++i) EXPECT_TRUE(send(failed("192.0.2.7")).log_line.empty());
    const auto ban = send(failed("192.0.2.7"));
    EXPECT_THAT(ban.log_line, HasSubstr("auth policy: ban 192.0.2.7 for 900 s after 10 failed logins within 600 s"));
    EXPECT_THAT(ban.log_line, HasSubstr("login=user1@example.com"));
    const auto refused = send(allow("192.0.2.7"));
    EXPECT_THAT(refused.response, HasSubstr(R"("status":-1)"));
    EXPECT_THAT(refused.response, HasSubstr("Too many failed logins"));
    EXPECT_THAT(refused.log_line, HasSubstr("refuse login=user1@example.com from 192.0.2.7 (imap)"));
    EXPECT_THAT(send(allow("192.0.2.8")).response, HasSubstr(R"({"status":0})"));
}

TEST_F(AuthPolicy, InternalNetworksAreNeverCounted) {
    for (int i = 0; i < 20; ++i) send(failed("127.0.0.1"));
    EXPECT_THAT(send(allow("127.0.0.1")).response, HasSubstr(R"({"status":0})"));
    EXPECT_EQ(failures_.tracked_addresses(), 0u);
}

TEST_F(AuthPolicy, OurOwnRefusalsAndSuccessesAreNotFailures) {
    const auto report = [](const char* outcome) {
        return http("/?command=report",
                    std::string(R"({"login":"u@example.com","remote":"192.0.2.9","protocol":"smtp",)") + outcome + "}");
    };
    for (int i = 0; i < 20; ++i) {
        send(report(R"("success":true,"policy_reject":false)"));
        send(report(R"("success":false,"policy_reject":true)"));
    }
    EXPECT_EQ(failures_.tracked_addresses(), 0u);
}

TEST_F(AuthPolicy, WithoutASnapshotLoginsGoOn) {
    AuthPolicyRequest request;
    ASSERT_EQ(parse_auth_policy_request(failed("192.0.2.7"), request).status, AuthPolicyParsed::Status::Complete);
    for (int i = 0; i < 20; ++i) answer_auth_policy(nullptr, failures_, request, kKey, now_);
    EXPECT_EQ(failures_.tracked_addresses(), 0u);
}

TEST_F(AuthPolicy, RequestsWithoutTheKeyAreRefusedAndCountNothing) {
    const std::string body = R"({"login":"user1@example.com","remote":"192.0.2.7","protocol":"imap","success":false})";
    const std::string wrong_key(std::string(kKey).size(), 'x');
    const std::string no_key = "POST /?command=report HTTP/1.1\r\nContent-Length: " + std::to_string(body.size()) +
                               "\r\n\r\n" + body;
    for (const auto& request : {http("/?command=report", body, wrong_key), http("/?command=report", body, "short"),
                                no_key}) {
        for (int i = 0; i < 20; ++i) {
            const auto answer = send(request);
            EXPECT_THAT(answer.response, HasSubstr("HTTP/1.1 401 Unauthorized"));
            EXPECT_THAT(answer.log_line, HasSubstr("without the right key"));
            EXPECT_THAT(answer.log_line, ::testing::Not(HasSubstr(wrong_key)));
        }
    }
    EXPECT_EQ(failures_.tracked_addresses(), 0u);
    EXPECT_THAT(send(allow("192.0.2.7")).response, HasSubstr(R"({"status":0})"));
}

TEST(AuthPolicyRequests, PipelinedRequestsAreTakenOneByOne) {
    const std::string two = allow("192.0.2.1") + failed("192.0.2.1");
    AuthPolicyRequest request;
    const auto first = parse_auth_policy_request(two, request);
    ASSERT_EQ(first.status, AuthPolicyParsed::Status::Complete);
    EXPECT_EQ(request.command, AuthPolicyRequest::Command::Allow);
    const auto second = parse_auth_policy_request(std::string_view(two).substr(first.consumed), request);
    ASSERT_EQ(second.status, AuthPolicyParsed::Status::Complete);
    EXPECT_EQ(request.command, AuthPolicyRequest::Command::Report);
    EXPECT_EQ(request.remote, "192.0.2.1");
    EXPECT_FALSE(request.success);
}

TEST(AuthPolicyRequests, IncompleteRequestsWaitForMore) {
    const auto whole = allow("192.0.2.1");
    AuthPolicyRequest request;
    for (std::size_t cut : {std::size_t{0}, std::size_t{10}, whole.find("\r\n\r\n"), whole.size() - 1})
        EXPECT_EQ(parse_auth_policy_request(whole.substr(0, cut), request).status, AuthPolicyParsed::Status::NeedMore);
}

TEST(AuthPolicyRequests, MalformedRequestsAreRefusedWithAReason) {
    const auto error_of = [](const std::string& bytes) {
        AuthPolicyRequest request;
        const auto parsed = parse_auth_policy_request(bytes, request);
        EXPECT_EQ(parsed.status, AuthPolicyParsed::Status::Malformed) << bytes;
        return parsed.error;
    };
    EXPECT_THAT(error_of("GET /?command=allow HTTP/1.1\r\nContent-Length: 2\r\n\r\n{}"), HasSubstr("not POST"));
    EXPECT_THAT(error_of(http("/?command=delete", "{}")), HasSubstr("no command=allow"));
    EXPECT_THAT(error_of(http("/?command=allow", "[1,2]")), HasSubstr("not a JSON object"));
    EXPECT_THAT(error_of(http("/?command=allow", "{\"login\":")), HasSubstr("not a JSON object"));
    EXPECT_THAT(error_of(http("/?command=allow", R"({"login":5})")), HasSubstr("wrong type"));
    EXPECT_THAT(error_of("POST /?command=allow HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"), HasSubstr("chunked"));
    EXPECT_THAT(error_of("POST /?command=allow HTTP/1.1\r\n\r\n"), HasSubstr("no Content-Length"));
    EXPECT_THAT(error_of("POST /?command=allow HTTP/1.1\r\nContent-Length: 99999\r\n\r\n"), HasSubstr("over the limit"));
    EXPECT_THAT(error_of("POST / HTTP/1.1\r\nX: " + std::string(kMaxAuthPolicyHeader, 'a')), HasSubstr("exceed"));
}
