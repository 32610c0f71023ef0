// Unit tests of routing_snapshot.hpp: SNM's routing rules — aliases,
// `@domain` aliases, extraVirtualAliases, forwards keeping the local copy,
// catch-all never stealing an existing address, recipient delimiter, case,
// sender ownership, send-only accounts, reject lists.
#include <gtest/gtest.h>

#include "routing_snapshot.hpp"
#include "snapshot_fixture.hpp"

using namespace snm;
using snm::testing::kHash;

namespace {

std::string account(const std::string& address, const std::string& extra = "") {
    return "[loginAccounts.\"" + address + "\"]\nhashedPassword = \"" + kHash + "\"\n" + extra;
}

}  // namespace

class Routing : public snm::testing::StateDirectory {
protected:
    void SetUp() override {
        StateDirectory::SetUp();
        const std::string toml =
            "fqdn = \"mail.example.com\"\n"
            "domains = [\"example.com\", \"example2.com\", \"example3.com\"]\n"
            "rejectSender = [\"@spam.example.net\", \"bad@example.org\"]\n"
            "rejectRecipients = [\"sales@example.com\"]\n" +
            account("user1@example.com",
                    "aliases = [\"info@example.com\", \"@example3.com\"]\n"
                    "catchAll = [\"example2.com\"]\n"
                    "sendAs = [\"newsletter@example.com\"]\n"
                    "aliasesRegexp = [\"/^tom\\\\..*@example\\\\.com$/\"]\n") +
            account("user2@example.com") + account("user3@example2.com") +
            account("noreply@example.com", "sendOnly = true\nsendOnlyRejectMessage = \"This account cannot receive emails.\"\n") +
            "[extraVirtualAliases]\n"
            "\"abuse@example.com\" = \"user1@example.com\"\n"
            "\"team@example.com\" = [\"user1@example.com\", \"user2@example.com\"]\n"
            "[forwards]\n"
            "\"user2@example.com\" = \"user2@elsewhere.org\"\n"
            "\"old@example.com\" = [\"new@elsewhere.org\", \"user1@example.com\"]\n";
        ASSERT_TRUE(apply(toml));
        auto opened = RoutingSnapshot::open(path("routing.cdb"));
        ASSERT_TRUE(opened) << opened.error().message;
        routing_ = *opened;
    }

    std::string alias(const std::string& address) {
        std::string out;
        return routing_->resolve_alias(address, out) ? out : "(none)";
    }
    std::string owners(const std::string& address) {
        std::string out;
        return routing_->sender_owners(address, out) ? out : "(none)";
    }

    std::shared_ptr<const RoutingSnapshot> routing_;
};

TEST_F(Routing, Domains) {
    EXPECT_TRUE(routing_->is_local_domain("example.com"));
    EXPECT_TRUE(routing_->is_local_domain("EXAMPLE2.com"));
    EXPECT_FALSE(routing_->is_local_domain("example.org"));
}

TEST_F(Routing, MailboxesWithCaseAndDelimiter) {
    EXPECT_EQ(routing_->mailbox("user1@example.com"), "example.com/user1/");
    EXPECT_EQ(routing_->mailbox("User1@Example.COM"), "example.com/user1/");
    EXPECT_EQ(routing_->mailbox("user1+lists@example.com"), "example.com/user1/");
    EXPECT_FALSE(routing_->mailbox("info@example.com"));  // an alias, not a mailbox
    EXPECT_FALSE(routing_->mailbox("user1@example.org"));
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
    std::string scratch;
    EXPECT_TRUE(routing_->owns_sender("User1@example.com", "info@example.com", scratch));
    EXPECT_FALSE(routing_->owns_sender("user2@example.com", "info@example.com", scratch));
    EXPECT_FALSE(routing_->owns_sender("user2@example.com", "user1@example.com", scratch));
}

TEST_F(Routing, SendOnlyAccounts) {
    EXPECT_EQ(routing_->send_only_message("noreply@example.com"), "This account cannot receive emails.");
    EXPECT_EQ(routing_->send_only_message("noreply+x@example.com"), "This account cannot receive emails.");
    EXPECT_FALSE(routing_->send_only_message("user1@example.com"));
}

TEST_F(Routing, RejectLists) {
    EXPECT_TRUE(routing_->is_rejected_sender("anyone@spam.example.net"));
    EXPECT_TRUE(routing_->is_rejected_sender("BAD@example.org"));
    EXPECT_FALSE(routing_->is_rejected_sender("good@example.org"));
    EXPECT_TRUE(routing_->is_rejected_recipient("sales@example.com"));
    EXPECT_TRUE(routing_->is_rejected_recipient("sales+x@example.com"));
    EXPECT_FALSE(routing_->is_rejected_recipient("user1@example.com"));
}
