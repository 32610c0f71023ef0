// Unit tests of policy.hpp: sender ownership on submission, send-only
// accounts, reject lists for unauthenticated mail, the policy_context
// split between sender and recipient restrictions, DEFER_IF_PERMIT without
// a readable snapshot.
#include <gtest/gtest.h>

#include "policy.hpp"
#include "routing_fixture.hpp"

using namespace snm::policyd;

class Policy : public snm::testing::RoutingFixture {
protected:
    // The action for a request, from the fixture's snapshot (or none: `routing` null).
    std::string decide(std::string_view sender, std::string_view recipient, std::string_view login = "",
                       std::string_view context = "", std::string_view state = "RCPT") {
        return decide_with(routing_.get(), sender, recipient, login, context, state);
    }
    std::string decide_with(const snm::RoutingSnapshot* routing, std::string_view sender, std::string_view recipient,
                            std::string_view login = "", std::string_view context = "",
                            std::string_view state = "RCPT") {
        PolicyRequest request;
        request.request = "smtpd_access_policy";
        request.protocol_state = state;
        request.sender = sender;
        request.recipient = recipient;
        request.sasl_username = login;
        request.policy_context = context;
        decide_policy(routing, request, action_, scratch_);
        return action_;
    }
    std::string action_;
    LookupScratch scratch_;
};

TEST_F(Policy, SubmissionAsOwnAddressAliasOrSendAsIsAccepted) {
    EXPECT_EQ(decide("user1@example.com", "friend@example.org", "user1@example.com"), "DUNNO");
    EXPECT_EQ(decide("info@example.com", "friend@example.org", "user1@example.com"), "DUNNO");
    EXPECT_EQ(decide("Info+x@EXAMPLE.com", "friend@example.org", "USER1@example.com"), "DUNNO");
    EXPECT_EQ(decide("abuse@example.com", "friend@example.org", "user1@example.com"), "DUNNO");
    EXPECT_EQ(decide("newsletter@example.com", "friend@example.org", "user1@example.com"), "DUNNO");
    EXPECT_EQ(decide("anyone@example3.com", "friend@example.org", "user1@example.com"), "DUNNO");
}

TEST_F(Policy, SubmissionAsSomeoneElsesAddressIsRefused) {
    EXPECT_EQ(decide("user1@example.com", "friend@example.org", "user2@example.com"),
              "553 5.7.1 not owned by user user2@example.com");
    // Receive-only addresses make no sender: catch-all domains and forwards.
    EXPECT_EQ(decide("anything@example2.com", "friend@example.org", "user1@example.com"),
              "553 5.7.1 not owned by user user1@example.com");
    EXPECT_EQ(decide("old@example.com", "friend@example.org", "user1@example.com"),
              "553 5.7.1 not owned by user user1@example.com");
    EXPECT_EQ(decide("stranger@example.org", "friend@example.org", "user1@example.com"),
              "553 5.7.1 not owned by user user1@example.com");
}

TEST_F(Policy, OwnershipIsCheckedAtMailToo) {
    EXPECT_EQ(decide("user1@example.com", "", "user2@example.com", "sender", "MAIL"),
              "553 5.7.1 not owned by user user2@example.com");
}

TEST_F(Policy, TheNullSenderIsNotCheckedForOwnership) {
    EXPECT_EQ(decide("", "friend@example.org", "user2@example.com"), "DUNNO");
}

TEST_F(Policy, SendOnlyAccountsRefuseMailWithTheirMessage) {
    EXPECT_EQ(decide("someone@example.org", "noreply@example.com"), "REJECT This account cannot receive emails.");
    EXPECT_EQ(decide("someone@example.org", "NoReply+x@example.com"), "REJECT This account cannot receive emails.");
    EXPECT_EQ(decide("user1@example.com", "noreply@example.com", "user1@example.com"),
              "REJECT This account cannot receive emails.");
}

TEST_F(Policy, RejectListsApplyToUnauthenticatedMailOnly) {
    EXPECT_EQ(decide("bot@spam.example.net", "user1@example.com"), "REJECT");
    EXPECT_EQ(decide("someone@example.org", "sales@example.com"), "REJECT");
    EXPECT_EQ(decide("someone@example.org", "sales+x@example.com"), "REJECT");
    EXPECT_EQ(decide("user1@example.com", "sales@example.com", "user1@example.com"), "DUNNO");
}

TEST_F(Policy, PolicyContextSplitsSenderAndRecipientDecisions) {
    // In smtpd_sender_restrictions only sender decisions are made, and the reverse.
    EXPECT_EQ(decide("someone@example.org", "noreply@example.com", "", "sender"), "DUNNO");
    EXPECT_EQ(decide("someone@example.org", "noreply@example.com", "", "recipient"),
              "REJECT This account cannot receive emails.");
    EXPECT_EQ(decide("user1@example.com", "x@example.org", "user2@example.com", "recipient"), "DUNNO");
    EXPECT_EQ(decide("user1@example.com", "x@example.org", "user2@example.com", "sender"),
              "553 5.7.1 not owned by user user2@example.com");
    EXPECT_EQ(decide("bot@spam.example.net", "user1@example.com", "", "recipient"), "DUNNO");
    EXPECT_EQ(decide("bot@spam.example.net", "user1@example.com", "", "sender"), "REJECT");
}

TEST_F(Policy, OtherProtocolStatesAreLeftAlone) {
    EXPECT_EQ(decide("user1@example.com", "", "user2@example.com", "", "DATA"), "DUNNO");
    EXPECT_EQ(decide_with(nullptr, "", "", "", "", "CONNECT"), "DUNNO");
}

TEST_F(Policy, WithoutASnapshotMailWaits) {
    const auto action = decide_with(nullptr, "user1@example.com", "user2@example.com");
    EXPECT_TRUE(action.starts_with("DEFER_IF_PERMIT 4.")) << action;
}

TEST_F(Policy, WithAnUnreadableSnapshotMailWaits) {
    const auto damaged = damaged_routing();
    ASSERT_TRUE(damaged);
    // submission (ownership), inbound (send-only, reject lists): each check defers
    for (const auto& action : {decide_with(damaged.get(), "user1@example.com", "friend@example.org", "user1@example.com"),
                               decide_with(damaged.get(), "friend@example.org", "noreply@example.com"),
                               decide_with(damaged.get(), "x@spam.example.net", "user1@example.com", "", "sender"),
                               decide_with(damaged.get(), "friend@example.org", "sales@example.com", "", "recipient")})
        EXPECT_TRUE(action.starts_with("DEFER_IF_PERMIT 4.")) << action;
}
