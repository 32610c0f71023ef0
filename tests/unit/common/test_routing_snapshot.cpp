// Unit tests of routing_snapshot.hpp: SNM's routing rules — aliases,
// `@domain` aliases, extraVirtualAliases, forwards keeping the local copy,
// catch-all never stealing an existing address, recipient delimiter, case,
// sender ownership, send-only accounts, reject lists.
#include <gtest/gtest.h>

#include "routing_fixture.hpp"

using namespace snm;

class Routing : public snm::testing::RoutingFixture {
protected:
    // The answer written into a buffer, or "(none)" when not found.
    using Lookup = Find (RoutingSnapshot::*)(std::string_view, std::string&) const;
    std::string answer(Lookup lookup, const std::string& address) {
        std::string out;
        const auto found = (*routing_.*lookup)(address, out);
        EXPECT_NE(found, Find::Failed) << address;
        return found == Find::Found ? out : "(none)";
    }
    std::string alias(const std::string& address) { return answer(&RoutingSnapshot::resolve_alias, address); }
    std::string owners(const std::string& address) { return answer(&RoutingSnapshot::sender_owners, address); }
    std::string mailbox(const std::string& address) { return answer(&RoutingSnapshot::mailbox, address); }
    std::string send_only(const std::string& address) { return answer(&RoutingSnapshot::send_only_message, address); }
    bool owns(const std::string& login, const std::string& address) {
        std::string scratch;
        return routing_->owns_sender(login, address, scratch) == Find::Found;
    }
};

TEST_F(Routing, Domains) {
    EXPECT_EQ(routing_->is_local_domain("example.com"), Find::Found);
    EXPECT_EQ(routing_->is_local_domain("EXAMPLE2.com"), Find::Found);
    EXPECT_EQ(routing_->is_local_domain("example.org"), Find::NotFound);
}

TEST_F(Routing, MailboxesWithCaseAndDelimiter) {
    EXPECT_EQ(mailbox("user1@example.com"), "example.com/user1/");
    EXPECT_EQ(mailbox("User1@Example.COM"), "example.com/user1/");
    EXPECT_EQ(mailbox("user1+lists@example.com"), "example.com/user1/");
    EXPECT_EQ(mailbox("info@example.com"), "(none)");  // an alias, not a mailbox
    EXPECT_EQ(mailbox("user1@example.org"), "(none)");
}

TEST_F(Routing, AliasesAndExtraVirtualAliases) {
    EXPECT_EQ(alias("info@example.com"), "user1@example.com");
    EXPECT_EQ(alias("INFO@example.com"), "user1@example.com");
    EXPECT_EQ(alias("abuse@example.com"), "user1@example.com");
    EXPECT_EQ(alias("team@example.com"), "user1@example.com,user2@example.com");
}

TEST_F(Routing, AliasKeepsTheRecipientExtension) {
    EXPECT_EQ(alias("info+news@example.com"), "user1+news@example.com");
}

TEST_F(Routing, AnExistingAddressWinsOverTheCatchAll) {
    EXPECT_EQ(alias("user3@example2.com"), "(none)");       // the mailbox, not user1
    EXPECT_EQ(alias("user3+tag@example2.com"), "(none)");   // also with an extension
    EXPECT_EQ(alias("anything@example2.com"), "user1@example.com");
    EXPECT_EQ(alias("user1@example.com"), "(none)");
}

TEST_F(Routing, DomainAliasReceivesTheWholeDomain) {
    EXPECT_EQ(alias("whoever@example3.com"), "user1@example.com");
}

TEST_F(Routing, ForwardOnAnAccountKeepsTheLocalCopy) {
    EXPECT_EQ(alias("user2@example.com"), "user2@example.com,user2@elsewhere.org");
    EXPECT_EQ(alias("old@example.com"), "new@elsewhere.org,user1@example.com");
}

TEST_F(Routing, RegexpAliases) {
    EXPECT_EQ(alias("tom.smith@example.com"), "user1@example.com");
    EXPECT_EQ(alias("tommy@example.com"), "(none)");
}

TEST_F(Routing, UnknownAddressesHaveNoAlias) {
    EXPECT_EQ(alias("nobody@example.com"), "(none)");
    EXPECT_EQ(alias("user1@example.org"), "(none)");
    EXPECT_EQ(alias("example.com"), "(none)");  // a bare domain, as trivial-rewrite may ask
}

TEST_F(Routing, SenderOwnership) {
    EXPECT_EQ(owners("user1@example.com"), "user1@example.com");
    EXPECT_EQ(owners("info@example.com"), "user1@example.com");
    EXPECT_EQ(owners("abuse@example.com"), "user1@example.com");
    EXPECT_EQ(owners("team@example.com"), "user1@example.com,user2@example.com");
    EXPECT_EQ(owners("newsletter@example.com"), "user1@example.com");  // sendAs
    EXPECT_EQ(owners("anyone@example3.com"), "user1@example.com");     // @domain alias
    EXPECT_EQ(owners("user1+tag@example.com"), "user1@example.com");
    EXPECT_EQ(owners("tom.x@example.com"), "user1@example.com");
    // Receive-only: neither catch-all domains nor forwards make a sender.
    EXPECT_EQ(owners("anything@example2.com"), "(none)");
    EXPECT_EQ(owners("old@example.com"), "(none)");
    EXPECT_TRUE(owns("User1@example.com", "info@example.com"));
    EXPECT_FALSE(owns("user2@example.com", "info@example.com"));
    EXPECT_FALSE(owns("user2@example.com", "user1@example.com"));
}

TEST_F(Routing, SendOnlyAccounts) {
    EXPECT_EQ(send_only("noreply@example.com"), "This account cannot receive emails.");
    EXPECT_EQ(send_only("noreply+x@example.com"), "This account cannot receive emails.");
    EXPECT_EQ(send_only("user1@example.com"), "(none)");
}

TEST_F(Routing, RejectLists) {
    EXPECT_EQ(routing_->is_rejected_sender("anyone@spam.example.net"), Find::Found);
    EXPECT_EQ(routing_->is_rejected_sender("BAD@example.org"), Find::Found);
    EXPECT_EQ(routing_->is_rejected_sender("good@example.org"), Find::NotFound);
    EXPECT_EQ(routing_->is_rejected_recipient("sales@example.com"), Find::Found);
    EXPECT_EQ(routing_->is_rejected_recipient("sales+x@example.com"), Find::Found);
    EXPECT_EQ(routing_->is_rejected_recipient("user1@example.com"), Find::NotFound);
}

// Every kind of lookup in an unreadable snapshot says Failed; none claims
// "not found".
TEST_F(Routing, AnUnreadableSnapshotFailsLookupsInsteadOfDenyingThem) {
    const auto damaged = damaged_routing();
    ASSERT_TRUE(damaged);
    std::string out;
    EXPECT_EQ(damaged->is_local_domain("example.com"), Find::Failed);
    EXPECT_EQ(damaged->mailbox("user1@example.com", out), Find::Failed);
    EXPECT_EQ(damaged->resolve_alias("anything@example2.com", out), Find::Failed);
    EXPECT_EQ(damaged->sender_owners("user1@example.com", out), Find::Failed);
    EXPECT_EQ(damaged->owns_sender("user1@example.com", "user1@example.com", out), Find::Failed);
    EXPECT_EQ(damaged->send_only_message("noreply@example.com", out), Find::Failed);
    EXPECT_EQ(damaged->is_rejected_sender("x@spam.example.net"), Find::Failed);
    EXPECT_EQ(damaged->is_rejected_recipient("sales@example.com"), Find::Failed);
}
