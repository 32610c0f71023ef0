// test_authdb_args.cpp — the `args` string of passdb/userdb driver snm.
#include <gtest/gtest.h>

#include "authdb_args.hpp"

using snm::dovecot::parse_authdb_args;

TEST(AuthdbArgs, APathAloneTakesTheDefaultBlocking) {
    auto passdb = parse_authdb_args("/var/lib/snm/accounts.cdb", "passdb", true);
    ASSERT_TRUE(passdb) << passdb.error().message;
    EXPECT_EQ(passdb->snapshot_path, "/var/lib/snm/accounts.cdb");
    EXPECT_TRUE(passdb->blocking);
    auto userdb = parse_authdb_args("  /var/lib/snm/accounts.cdb\t", "userdb", false);
    ASSERT_TRUE(userdb);
    EXPECT_FALSE(userdb->blocking);
}

TEST(AuthdbArgs, BlockingIsSetEitherWay) {
    auto no = parse_authdb_args("blocking=no /s/accounts.cdb", "passdb", true);
    ASSERT_TRUE(no);
    EXPECT_FALSE(no->blocking);
    auto yes = parse_authdb_args("/s/accounts.cdb blocking=yes", "userdb", false);
    ASSERT_TRUE(yes);
    EXPECT_TRUE(yes->blocking);
    EXPECT_EQ(yes->snapshot_path, "/s/accounts.cdb");
}

TEST(AuthdbArgs, AMissingPathIsAnErrorShowingTheExpectedForm) {
    for (const char* args : {"", "   ", "blocking=yes"}) {
        auto parsed = parse_authdb_args(args, "passdb", true);
        ASSERT_FALSE(parsed) << args;
        EXPECT_EQ(parsed.error().message,
                  "passdb snm: args must name the accounts snapshot, e.g. args = /var/lib/snm/accounts.cdb");
    }
}

TEST(AuthdbArgs, ErrorsNameTheOffendingSetting) {
    auto unknown = parse_authdb_args("cache=yes /s/a.cdb", "userdb", false);
    ASSERT_FALSE(unknown);
    EXPECT_EQ(unknown.error().message, "userdb snm: unknown setting 'cache' in args (known: blocking=yes|no)");

    auto bad_value = parse_authdb_args("blocking=maybe /s/a.cdb", "passdb", true);
    ASSERT_FALSE(bad_value);
    EXPECT_EQ(bad_value.error().message, "passdb snm: blocking=maybe in args: expected yes or no");

    auto relative = parse_authdb_args("accounts.cdb", "passdb", true);
    ASSERT_FALSE(relative);
    EXPECT_EQ(relative.error().message,
              "passdb snm: 'accounts.cdb' in args is neither a setting (name=value) nor an absolute snapshot path");

    auto two = parse_authdb_args("/a.cdb /b.cdb", "passdb", true);
    ASSERT_FALSE(two);
    EXPECT_EQ(two.error().message, "passdb snm: more than one snapshot path in args ('/a.cdb' and '/b.cdb')");
}

TEST(AuthdbArgs, TheFirstErrorIsTheOneReported) {
    auto parsed = parse_authdb_args("x=1 y=2", "passdb", true);
    ASSERT_FALSE(parsed);
    EXPECT_NE(parsed.error().message.find("'x'"), std::string::npos);
}
