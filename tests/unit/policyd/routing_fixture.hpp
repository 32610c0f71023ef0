// routing_fixture.hpp — test helper: a routing snapshot compiled from an
// snm.toml that exercises every rule snm-policyd answers for (accounts,
// aliases incl. "@domain", catch-all, extraVirtualAliases, forwards,
// send-only, sendAs, reject lists, recipient delimiter).
#pragma once

#include <memory>
#include <string>

#include "routing_snapshot.hpp"
#include "snapshot_fixture.hpp"

namespace snm::testing {

class RoutingFixture : public StateDirectory {
protected:
    void SetUp() override {
        StateDirectory::SetUp();
        const auto account = [](const std::string& address, const std::string& extra = "") {
            return "[loginAccounts.\"" + address + "\"]\nhashedPassword = \"" + kHash + "\"\n" + extra;
        };
        const std::string toml =
            "fqdn = \"mail.example.com\"\n"
            "domains = [\"example.com\", \"example2.com\", \"example3.com\"]\n"
            "recipientDelimiter = \"+\"\n"
            "rejectSender = [\"@spam.example.net\"]\n"
            "rejectRecipients = [\"sales@example.com\"]\n" +
            account("user1@example.com",
                    "aliases = [\"info@example.com\", \"@example3.com\"]\n"
                    "catchAll = [\"example2.com\"]\n"
                    "sendAs = [\"newsletter@example.com\"]\n") +
            account("user2@example.com") + account("user3@example2.com") +
            account("noreply@example.com", "sendOnly = true\nsendOnlyRejectMessage = \"This account cannot receive emails.\"\n") +
            "[extraVirtualAliases]\n"
            "\"abuse@example.com\" = \"user1@example.com\"\n"
            "[forwards]\n"
            "\"user2@example.com\" = \"user2@elsewhere.org\"\n"
            "\"old@example.com\" = \"new@elsewhere.org\"\n";
        ASSERT_TRUE(apply(toml));
        auto opened = RoutingSnapshot::open(path("routing.cdb"));
        ASSERT_TRUE(opened) << opened.error().message;
        routing_ = *opened;
    }

    std::shared_ptr<const RoutingSnapshot> routing_;
};

}  // namespace snm::testing
