// dkim.internalNetworks matching, IPv4, IPv6 and IPv4-mapped IPv6.
#include <gtest/gtest.h>

#include "network_list.hpp"

using snm::NetworkList;

TEST(NetworkList, MatchesPrefixes) {
    NetworkList list;
    ASSERT_TRUE(list.add("10.0.0.0/8"));
    ASSERT_TRUE(list.add("192.0.2.128/25"));
    ASSERT_TRUE(list.add("2001:db8::/32"));
    ASSERT_TRUE(list.add("198.51.100.7"));
    EXPECT_TRUE(list.contains("10.255.1.2"));
    EXPECT_FALSE(list.contains("11.0.0.1"));
    EXPECT_TRUE(list.contains("192.0.2.200"));
    EXPECT_FALSE(list.contains("192.0.2.100"));
    EXPECT_TRUE(list.contains("2001:db8:1::25"));
    EXPECT_TRUE(list.contains("IPv6:2001:db8::1"));
    EXPECT_FALSE(list.contains("2001:db9::1"));
    EXPECT_TRUE(list.contains("::ffff:10.1.2.3"));
    EXPECT_TRUE(list.contains("198.51.100.7"));
    EXPECT_FALSE(list.contains("198.51.100.8"));
    EXPECT_FALSE(list.contains(""));
    EXPECT_FALSE(list.contains("not an address"));
}

TEST(NetworkList, RefusesMalformedBlocks) {
    NetworkList list;
    EXPECT_FALSE(list.add("10.0.0.0/33"));
    EXPECT_FALSE(list.add("10.0.0/8"));
    EXPECT_FALSE(list.add("::1/129"));
    EXPECT_FALSE(list.add("10.0.0.0/x"));
    EXPECT_TRUE(list.add("::ffff:10.0.0.0/104"));
    EXPECT_TRUE(list.contains("10.9.9.9"));
}
