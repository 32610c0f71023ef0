// Unit tests of netstring.hpp: complete, partial, pipelined and malformed
// netstrings, and the length limit enforced before the payload arrives.
#include <gtest/gtest.h>

#include "netstring.hpp"

using namespace snm::policyd;
using Status = NetstringDecoded::Status;

TEST(Netstring, DecodesOneAndReportsItsLength) {
    const auto d = decode_netstring("11:domains a.b,", 100);
    ASSERT_EQ(d.status, Status::Complete);
    EXPECT_EQ(d.payload, "domains a.b");
    EXPECT_EQ(d.consumed, 15u);
}

TEST(Netstring, EmptyPayload) {
    const auto d = decode_netstring("0:,", 100);
    ASSERT_EQ(d.status, Status::Complete);
    EXPECT_EQ(d.payload, "");
    EXPECT_EQ(d.consumed, 3u);
}

TEST(Netstring, PipelinedRequestsDecodeOneAtATime) {
    const std::string_view input = "3:abc,2:de,";
    const auto first = decode_netstring(input, 100);
    ASSERT_EQ(first.status, Status::Complete);
    const auto second = decode_netstring(input.substr(first.consumed), 100);
    ASSERT_EQ(second.status, Status::Complete);
    EXPECT_EQ(second.payload, "de");
}

TEST(Netstring, EveryProperPrefixNeedsMore) {
    const std::string_view whole = "13:aliases x@y.z,";
    for (std::size_t n = 0; n < whole.size(); ++n)
        EXPECT_EQ(decode_netstring(whole.substr(0, n), 100).status, Status::NeedMore) << n;
}

TEST(Netstring, MalformedInput) {
    EXPECT_EQ(decode_netstring(":abc,", 100).status, Status::Malformed);
    EXPECT_EQ(decode_netstring("x:abc,", 100).status, Status::Malformed);
    EXPECT_EQ(decode_netstring("3x:abc,", 100).status, Status::Malformed);
    EXPECT_EQ(decode_netstring("3:abcd", 100).status, Status::Malformed);  // no comma
    EXPECT_EQ(decode_netstring("-1:,", 100).status, Status::Malformed);
}

TEST(Netstring, LengthOverTheLimitIsRefusedBeforeThePayload) {
    EXPECT_EQ(decode_netstring("101:", 100).status, Status::Malformed);
    EXPECT_EQ(decode_netstring("1000", 100).status, Status::Malformed);
    EXPECT_EQ(decode_netstring("99999999999999999999:", 1u << 30).status, Status::Malformed);
    EXPECT_EQ(decode_netstring("100:", 100).status, Status::NeedMore);
}

TEST(Netstring, AppendRoundTrips) {
    std::string out;
    append_netstring(out, "OK user1@example.com");
    append_netstring(out, "NOTFOUND ");
    EXPECT_EQ(out, "20:OK user1@example.com,9:NOTFOUND ,");
    const auto d = decode_netstring(out, 100);
    ASSERT_EQ(d.status, Status::Complete);
    EXPECT_EQ(d.payload, "OK user1@example.com");
}
