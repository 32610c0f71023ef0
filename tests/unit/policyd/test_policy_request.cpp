// Unit tests of policy_request.hpp: Postfix's attribute list, partial and
// pipelined requests, ignored attributes, and every limit.
#include <gtest/gtest.h>

#include <string>

#include "policy_request.hpp"

using namespace snm::policyd;
using Status = PolicyParsed::Status;

namespace {

const std::string kRequest =
    "request=smtpd_access_policy\n"
    "protocol_state=RCPT\n"
    "protocol_name=ESMTP\n"
    "helo_name=client.example.net\n"
    "queue_id=8045F2AB23\n"
    "sender=user1@example.com\n"
    "recipient=friend@example.org\n"
    "recipient_count=0\n"
    "client_address=192.0.2.1\n"
    "client_name=client.example.net\n"
    "sasl_method=plain\n"
    "sasl_username=user1@example.com\n"
    "policy_context=sender\n"
    "ccert_subject=\n"
    "size=12345\n"
    "\n";

}  // namespace

TEST(PolicyRequest, KeepsTheAttributesItDecidesOn) {
    PolicyRequest request;
    const auto parsed = parse_policy_request(kRequest, request);
    ASSERT_EQ(parsed.status, Status::Complete) << parsed.error;
    EXPECT_EQ(parsed.consumed, kRequest.size());
    EXPECT_EQ(request.request, "smtpd_access_policy");
    EXPECT_EQ(request.protocol_state, "RCPT");
    EXPECT_EQ(request.queue_id, "8045F2AB23");
    EXPECT_EQ(request.sender, "user1@example.com");
    EXPECT_EQ(request.recipient, "friend@example.org");
    EXPECT_EQ(request.sasl_username, "user1@example.com");
    EXPECT_EQ(request.policy_context, "sender");
    EXPECT_EQ(request.client_address, "192.0.2.1");
}

TEST(PolicyRequest, EveryProperPrefixNeedsMore) {
    PolicyRequest request;
    for (std::size_t n = 0; n < kRequest.size(); ++n)
        EXPECT_EQ(parse_policy_request(std::string_view(kRequest).substr(0, n), request).status, Status::NeedMore) << n;
}

TEST(PolicyRequest, PipelinedRequestsParseOneAtATime) {
    const std::string two = kRequest + "request=smtpd_access_policy\nsender=\nprotocol_state=MAIL\n\n";
    PolicyRequest request;
    const auto first = parse_policy_request(two, request);
    ASSERT_EQ(first.status, Status::Complete);
    const auto second = parse_policy_request(std::string_view(two).substr(first.consumed), request);
    ASSERT_EQ(second.status, Status::Complete);
    EXPECT_EQ(request.protocol_state, "MAIL");
    EXPECT_EQ(request.sender, "");           // the null sender
    EXPECT_EQ(request.sasl_username, "");    // reset between requests
}

TEST(PolicyRequest, ValuesMayContainEqualsSigns) {
    PolicyRequest request;
    ASSERT_EQ(parse_policy_request("request=smtpd_access_policy\nsender=a=b@example.com\n\n", request).status,
              Status::Complete);
    EXPECT_EQ(request.sender, "a=b@example.com");
}

TEST(PolicyRequest, MalformedRequests) {
    PolicyRequest request;
    EXPECT_EQ(parse_policy_request("\n", request).status, Status::Malformed);  // empty request
    EXPECT_EQ(parse_policy_request("request\n\n", request).status, Status::Malformed);
    EXPECT_EQ(parse_policy_request("=value\n\n", request).status, Status::Malformed);
}

TEST(PolicyRequest, ALineOverTheLimitIsRefusedBeforeItEnds) {
    PolicyRequest request;
    const std::string long_line = "sender=" + std::string(kMaxPolicyLine, 'a');
    EXPECT_EQ(parse_policy_request(long_line, request).status, Status::Malformed);
    EXPECT_EQ(parse_policy_request(long_line + "\n\n", request).status, Status::Malformed);
    const std::string fits = "sender=" + std::string(kMaxPolicyLine - 7, 'a') + "\n\n";
    EXPECT_EQ(parse_policy_request(fits, request).status, Status::Complete);
}

TEST(PolicyRequest, ARequestOverTheLimitIsRefused) {
    PolicyRequest request;
    std::string big;
    while (big.size() <= kMaxPolicyRequest) big += "x_attribute=" + std::string(1000, 'v') + "\n";
    const auto parsed = parse_policy_request(big, request);
    EXPECT_EQ(parsed.status, Status::Malformed);  // too many bytes or too many attributes, never NeedMore
}

TEST(PolicyRequest, TooManyAttributesAreRefused) {
    PolicyRequest request;
    std::string many;
    for (std::size_t i = 0; i <= kMaxPolicyAttributes; ++i) many += "a=b\n";
    EXPECT_EQ(parse_policy_request(many + "\n", request).status, Status::Malformed);
}
