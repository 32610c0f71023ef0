// Unit tests of address.hpp: splitting, validity, case folding, extensions.
#include <gtest/gtest.h>

#include "address.hpp"

using namespace snm;

TEST(Address, SplitsAtTheLastAt) {
    auto parts = split_address("a@b@example.com");
    ASSERT_TRUE(parts);
    EXPECT_EQ(parts->local, "a@b");
    EXPECT_EQ(parts->domain, "example.com");
    EXPECT_FALSE(split_address("@example.com"));
    EXPECT_FALSE(split_address("user@"));
    EXPECT_FALSE(split_address("user"));
}

TEST(Address, ValidatesDomains) {
    EXPECT_TRUE(is_valid_domain("example.com"));
    EXPECT_TRUE(is_valid_domain("mail-1.sub.example.org"));
    EXPECT_FALSE(is_valid_domain("localhost"));
    EXPECT_FALSE(is_valid_domain("-bad.example.com"));
    EXPECT_FALSE(is_valid_domain("bad..example.com"));
    EXPECT_FALSE(is_valid_domain("under_score.example.com"));
    EXPECT_FALSE(is_valid_domain(std::string(64, 'a') + ".com"));
}

TEST(Address, ValidatesAddresses) {
    EXPECT_TRUE(is_valid_address("user1@example.com"));
    EXPECT_TRUE(is_valid_address("first.last+tag@example.com"));
    EXPECT_FALSE(is_valid_address("first..last@example.com"));
    EXPECT_FALSE(is_valid_address(".user@example.com"));
    EXPECT_FALSE(is_valid_address("us er@example.com"));
    EXPECT_FALSE(is_valid_address("user@example"));
}

TEST(Address, StripsTheRecipientDelimiterExtension) {
    auto stripped = strip_extension("user+tag+more@example.com", "+");
    ASSERT_TRUE(stripped);
    EXPECT_EQ(stripped->base, "user@example.com");
    EXPECT_EQ(stripped->extension, "+tag+more");
    auto either = strip_extension("user-tag@example.com", "+-");
    ASSERT_TRUE(either);
    EXPECT_EQ(either->base, "user@example.com");
    EXPECT_FALSE(strip_extension("user@example.com", "+"));
    EXPECT_FALSE(strip_extension("+tag@example.com", "+"));
    EXPECT_FALSE(strip_extension("user+tag@example.com", ""));
}

TEST(Address, FoldsCase) {
    EXPECT_EQ(to_lower("User1@Example.COM"), "user1@example.com");
    EXPECT_EQ(domain_of("x@Example.com"), "Example.com");
    EXPECT_EQ(domain_of("@example.com"), "example.com");
}
