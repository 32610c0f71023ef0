// The From parser: the one mailbox's domain, or why there is none.
#include <gtest/gtest.h>

#include "from_address.hpp"

using snm::milter::from_domain;

namespace {

std::string domain_of(std::string_view value) {
    auto domain = from_domain(value);
    return domain ? *domain : "ERROR: " + domain.error().message;
}

}  // namespace

TEST(FromAddress, AcceptsTheCommonForms) {
    EXPECT_EQ(domain_of(" user@Example.COM"), "example.com");
    EXPECT_EQ(domain_of(" <user@example.com>"), "example.com");
    EXPECT_EQ(domain_of(" User Name <user@example.com>"), "example.com");
    EXPECT_EQ(domain_of(" \"Name, with <comma> and @\" <user@example.com>"), "example.com");
    EXPECT_EQ(domain_of(" user@example.com (a comment (nested) <x@y.z>)"), "example.com");
    EXPECT_EQ(domain_of(" \"quoted@local\"@example.com"), "example.com");
    EXPECT_EQ(domain_of(" Name\r\n\t<user@example.com>"), "example.com");
    EXPECT_EQ(domain_of(" <@route.example,@other.example:user@example.com>"), "example.com");
    EXPECT_EQ(domain_of(" user@example.com."), "example.com");
    EXPECT_EQ(domain_of(" user@example.com <user@example.com>"), "example.com");  // unquoted @ in the name, common in the wild
}

TEST(FromAddress, RefusesWhatIsNotOneMailbox) {
    EXPECT_EQ(domain_of(" a@example.com, b@example.com"), "ERROR: several mailboxes");
    EXPECT_EQ(domain_of(" <a@example.com>, <b@example.com>"), "ERROR: several mailboxes");
    EXPECT_EQ(domain_of(" undisclosed-recipients:;"), "ERROR: a group, not a mailbox");
    EXPECT_EQ(domain_of(" "), "ERROR: no address");
    EXPECT_EQ(domain_of(" user"), "ERROR: no '@' in the address");
    EXPECT_EQ(domain_of(" @example.com"), "ERROR: an empty local part");
    EXPECT_EQ(domain_of(" \"unterminated <a@example.com>"), "ERROR: an unterminated quoted string");
    EXPECT_EQ(domain_of(" (unterminated a@example.com"), "ERROR: an unterminated comment");
    EXPECT_EQ(domain_of(" <a@example.com"), "ERROR: a '<' without '>'");
    EXPECT_EQ(domain_of(" a@[192.0.2.1]"), "ERROR: the domain `[192.0.2.1]` is not a host name");
    EXPECT_EQ(domain_of(std::string(snm::milter::kMaxFromLength + 1, 'a')).substr(0, 14), "ERROR: it is l");
}
