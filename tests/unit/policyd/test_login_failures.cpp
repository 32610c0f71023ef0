// LoginFailures: bans per address, delays per account, back-off, windows,
// and the memory bound.
#include <gtest/gtest.h>
#include <sys/socket.h>

#include "login_failures.hpp"

using namespace snm::policyd;
using Kind = ThrottleVerdict::Kind;
using std::chrono::seconds;

namespace {

snm::IpAddress ip(const char* text) { return *snm::parse_ip_address(text); }

snm::LoginThrottle limits() {
    snm::LoginThrottle l;  // defaults: 10 in 600 s, ban 900 s up to 86400 s, account 100 / 15 s
    return l;
}

const ThrottleClock::time_point t0{seconds(1000000)};

}  // namespace

TEST(LoginFailures, TheTenthFailureBansTheAddressAndOnlyIt) {
    LoginFailures failures;
    const auto l = limits();
    for (unsigned i = 1; i < 10; ++i) {
        EXPECT_EQ(failures.check(ip("192.0.2.1"), "user@example.com", l, t0).kind, Kind::Allow);
        EXPECT_EQ(failures.record_failure(ip("192.0.2.1"), "user@example.com", l, t0).ban_seconds, 0u);
    }
    const auto tenth = failures.record_failure(ip("192.0.2.1"), "user@example.com", l, t0);
    EXPECT_EQ(tenth.ban_seconds, 900u);
    EXPECT_EQ(tenth.address_failures, 10u);
    const auto banned = failures.check(ip("192.0.2.1"), "user@example.com", l, t0 + seconds(100));
    EXPECT_EQ(banned.kind, Kind::Refuse);
    EXPECT_EQ(banned.seconds, 800u);
    EXPECT_EQ(failures.check(ip("192.0.2.2"), "user@example.com", l, t0).kind, Kind::Allow);
    EXPECT_EQ(failures.check(ip("192.0.2.1"), "user@example.com", l, t0 + seconds(900)).kind, Kind::Allow);
}

TEST(LoginFailures, FailuresOutsideTheWindowStartAfresh) {
    LoginFailures failures;
    const auto l = limits();
    for (unsigned i = 0; i < 9; ++i) failures.record_failure(ip("192.0.2.1"), "a@example.com", l, t0);
    const auto later = failures.record_failure(ip("192.0.2.1"), "a@example.com", l, t0 + seconds(600));
    EXPECT_EQ(later.address_failures, 1u);
    EXPECT_EQ(later.ban_seconds, 0u);
}

TEST(LoginFailures, RepeatedBansDoubleUpToTheLongest) {
    LoginFailures failures;
    auto l = limits();
    l.maxBanTime = 3000;
    auto now = t0;
    std::vector<unsigned> bans;
    for (int round = 0; round < 4; ++round) {
        FailureRecorded recorded;
        for (unsigned i = 0; i < 10; ++i) recorded = failures.record_failure(ip("192.0.2.1"), "", l, now);
        bans.push_back(recorded.ban_seconds);
        now += seconds(recorded.ban_seconds);
    }
    EXPECT_EQ(bans, (std::vector<unsigned>{900, 1800, 3000, 3000}));
}

TEST(LoginFailures, AnIpv6HostIsItsSlash64) {
    LoginFailures failures;
    const auto l = limits();
    for (unsigned i = 0; i < 10; ++i) failures.record_failure(ip("2001:db8:1:2::1"), "", l, t0);
    EXPECT_EQ(failures.check(ip("2001:db8:1:2:ffff::9"), "", l, t0).kind, Kind::Refuse);
    EXPECT_EQ(failures.check(ip("2001:db8:1:3::1"), "", l, t0).kind, Kind::Allow);
}

TEST(LoginFailures, AnAccountGuessedFromEverywhereIsSlowedNotLocked) {
    LoginFailures failures;
    const auto l = limits();
    for (unsigned i = 0; i < 100; ++i) {
        const std::string address = "198.51.100." + std::to_string(i % 250);
        failures.record_failure(ip(address.c_str()), "User@Example.com", l, t0);
    }
    const auto verdict = failures.check(ip("203.0.113.5"), "user@example.com", l, t0 + seconds(1));
    EXPECT_EQ(verdict.kind, Kind::Delay);
    EXPECT_EQ(verdict.seconds, 15u);
    EXPECT_EQ(failures.check(ip("203.0.113.5"), "other@example.com", l, t0).kind, Kind::Allow);
    EXPECT_EQ(failures.check(ip("203.0.113.5"), "user@example.com", l, t0 + seconds(600)).kind, Kind::Allow);
}

TEST(LoginFailures, AFloodOfAddressesStaysWithinTheBound) {
    LoginFailures failures(1000, 1000);
    const auto l = limits();
    for (unsigned i = 0; i < 10; ++i) failures.record_failure(ip("192.0.2.1"), "victim@example.com", l, t0);
    for (unsigned i = 0; i < 5000; ++i) {
        snm::IpAddress random{};
        random.family = AF_INET;
        random.bytes[0] = 10;
        random.bytes[1] = static_cast<unsigned char>(i >> 8);
        random.bytes[2] = static_cast<unsigned char>(i);
        failures.record_failure(random, "guess" + std::to_string(i), l, t0);
    }
    EXPECT_EQ(failures.tracked_addresses(), 1000u);
    EXPECT_EQ(failures.tracked_accounts(), 1000u);
}
