// routing_fixture.hpp — test helper: a routing snapshot compiled from an
// snm.toml that exercises every rule snm-policyd answers for (accounts,
// aliases incl. "@domain", catch-all, extraVirtualAliases, forwards,
// send-only, sendAs, regexp aliases, reject lists, recipient delimiter).
// Shared by the routing model's tests and snm-policyd's.
#pragma once

#include <filesystem>
#include <memory>
#include <string>

#include "routing_snapshot.hpp"
#include "snapshot_fixture.hpp"

namespace snm::testing {

class RoutingFixture : public StateDirectory {
protected:
    void SetUp() override {
        StateDirectory::SetUp();
        const std::string toml =
            "fqdn = \"mail.example.com\"\n"
            "domains = [\"example.com\", \"example2.com\", \"example3.com\"]\n"
            "recipientDelimiter = \"+\"\n"
            "rejectSender = [\"@spam.example.net\", \"bad@example.org\"]\n"
            "rejectRecipients = [\"sales@example.com\"]\n" +
            account_toml("user1@example.com",
                         "aliases = [\"info@example.com\", \"@example3.com\"]\n"
                         "catchAll = [\"example2.com\"]\n"
                         "sendAs = [\"newsletter@example.com\"]\n"
                         "aliasesRegexp = [\"/^tom\\\\..*@example\\\\.com$/\"]\n") +
            account_toml("user2@example.com") + account_toml("user3@example2.com") +
            account_toml("noreply@example.com",
                         "sendOnly = true\nsendOnlyRejectMessage = \"This account cannot receive emails.\"\n") +
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

    // The fixture's snapshot read with pread (as a large one is) and then
    // damaged on disk: its lookups fail as an unreadable snapshot's do.
    std::shared_ptr<const RoutingSnapshot> damaged_routing() {
        auto read = RoutingSnapshot::open(path("routing.cdb"), 0);
        EXPECT_TRUE(read) << read.error().message;
        std::filesystem::resize_file(path("routing.cdb"), 2048);  // header only: every slot read fails
        return read ? *read : nullptr;
    }

    std::shared_ptr<const RoutingSnapshot> routing_;
};

}  // namespace snm::testing
