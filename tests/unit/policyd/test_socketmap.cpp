// Unit tests of socketmap.hpp: each table's answers on SNM's rules (an
// existing address wins over the catch-all, a forward keeps the local copy,
// "@domain" aliases, the recipient delimiter, case), TEMP without a
// readable snapshot, PERM for a map Postfix should not ask for.
#include <gtest/gtest.h>

#include "routing_fixture.hpp"
#include "socketmap.hpp"

using namespace snm::policyd;

class Socketmap : public snm::testing::RoutingFixture {
protected:
    std::string ask(std::string_view request) {
        answer_socketmap(routing_.get(), request, reply_, scratch_);
        return reply_;
    }
    std::string reply_;
    LookupScratch scratch_;
};

TEST_F(Socketmap, Domains) {
    EXPECT_EQ(ask("domains example.com"), "OK example.com");
    EXPECT_EQ(ask("domains Example2.COM"), "OK Example2.COM");
    EXPECT_EQ(ask("domains example.org"), "NOTFOUND ");
    EXPECT_EQ(ask("domains "), "NOTFOUND ");
}

TEST_F(Socketmap, MailboxesWithDelimiterAndCase) {
    EXPECT_EQ(ask("mailboxes user1@example.com"), "OK example.com/user1/");
    EXPECT_EQ(ask("mailboxes USER1+lists@Example.com"), "OK example.com/user1/");
    EXPECT_EQ(ask("mailboxes info@example.com"), "NOTFOUND ");  // an alias, not a mailbox
    EXPECT_EQ(ask("mailboxes nobody@example.com"), "NOTFOUND ");
}

TEST_F(Socketmap, AliasesAndDomainAliases) {
    EXPECT_EQ(ask("aliases info@example.com"), "OK user1@example.com");
    EXPECT_EQ(ask("aliases Info+news@example.com"), "OK user1+news@example.com");
    EXPECT_EQ(ask("aliases abuse@example.com"), "OK user1@example.com");
    EXPECT_EQ(ask("aliases whoever@example3.com"), "OK user1@example.com");
}

TEST_F(Socketmap, CatchAllNeverTakesAnExistingAddress) {
    EXPECT_EQ(ask("aliases anything@example2.com"), "OK user1@example.com");
    EXPECT_EQ(ask("aliases user3@example2.com"), "NOTFOUND ");
    EXPECT_EQ(ask("aliases user3+tag@example2.com"), "NOTFOUND ");
}

TEST_F(Socketmap, ForwardOnAnAccountKeepsTheLocalCopy) {
    EXPECT_EQ(ask("aliases user2@example.com"), "OK user2@example.com,user2@elsewhere.org");
    EXPECT_EQ(ask("aliases old@example.com"), "OK new@elsewhere.org,user1@example.com");
}

TEST_F(Socketmap, UnknownAddressesAndBareDomainsAreNotFound) {
    EXPECT_EQ(ask("aliases nobody@example.com"), "NOTFOUND ");
    EXPECT_EQ(ask("aliases example.com"), "NOTFOUND ");  // trivial-rewrite's question when virtual_alias_domains is not empty
    EXPECT_EQ(ask("aliases user1@example.com"), "NOTFOUND ");
}

TEST_F(Socketmap, Senders) {
    EXPECT_EQ(ask("senders user1@example.com"), "OK user1@example.com");
    EXPECT_EQ(ask("senders newsletter@example.com"), "OK user1@example.com");
    EXPECT_EQ(ask("senders someone@example3.com"), "OK user1@example.com");
    EXPECT_EQ(ask("senders anything@example2.com"), "NOTFOUND ");  // catch-all: receive only
    EXPECT_EQ(ask("senders old@example.com"), "NOTFOUND ");        // forward: receive only
}

TEST_F(Socketmap, WithoutASnapshotEveryKnownMapIsTemporary) {
    for (const auto* request : {"domains example.com", "mailboxes a@b.c", "aliases a@b.c", "senders a@b.c"}) {
        EXPECT_EQ(answer_socketmap(nullptr, request, reply_, scratch_), SocketmapOutcome::Temporary);
        EXPECT_TRUE(reply_.starts_with("TEMP ")) << reply_;
    }
}

TEST_F(Socketmap, AnUnreadableSnapshotIsTemporaryNeverNotFound) {
    const auto damaged = damaged_routing();
    ASSERT_TRUE(damaged);
    for (const auto* request : {"domains example.com", "mailboxes user1@example.com", "aliases anything@example2.com",
                                "senders user1@example.com"}) {
        EXPECT_EQ(answer_socketmap(damaged.get(), request, reply_, scratch_), SocketmapOutcome::Temporary) << request;
        EXPECT_TRUE(reply_.starts_with("TEMP ")) << reply_;
    }
}

TEST_F(Socketmap, UnknownMapsAndMalformedRequestsArePermanentErrors) {
    EXPECT_EQ(answer_socketmap(routing_.get(), "virtual x@example.com", reply_, scratch_), SocketmapOutcome::Permanent);
    EXPECT_TRUE(reply_.starts_with("PERM ")) << reply_;
    EXPECT_EQ(answer_socketmap(routing_.get(), "aliases", reply_, scratch_), SocketmapOutcome::Permanent);
}

TEST_F(Socketmap, OverlongKeysAreAnsweredLikeAnyOther) {
    const std::string local(3000, 'a');
    EXPECT_EQ(ask("aliases " + local + "@example.com"), "NOTFOUND ");
    EXPECT_EQ(ask("mailboxes " + local + "@example.com"), "NOTFOUND ");
    EXPECT_EQ(ask("aliases " + local + "@example2.com"), "OK user1@example.com");  // the catch-all, as hash: does
}
