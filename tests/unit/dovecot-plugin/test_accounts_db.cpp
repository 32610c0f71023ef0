// test_accounts_db.cpp — what the snm passdb/userdb answer: lookups, user
// lists, reload of a replaced snapshot and the fault policy (temporary
// failure, one log line, recovery).
#include <gtest/gtest.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <thread>
#include <algorithm>
#include <string>
#include <vector>

#include "accounts_db.hpp"
#include "cdb_file.hpp"
#include "snapshot_fixture.hpp"
#include "snapshot_layout.hpp"

using snm::dovecot::AccountsDb;
using snm::dovecot::for_each_userdb_field;
using snm::dovecot::Lookup;
using snm::testing::kHash;

namespace {

// A $6$ hash of another password, so a reload is visible.
const std::string kOtherHash =
    "$6$cufVzGXuK.bxaZah$zv3VDLbYut33ryumm5GrjU32v4xJivyseE0AyRRKJTSFHeh0nFL4CCEmmQ677hgudx6WkrCp31rJXgdgqKJn/0";

std::string accounts(const std::string& hash = kHash, const std::string& extra_account = "") {
    std::string toml = "fqdn = \"mail.example.com\"\ndomains = [\"example.com\"]\nmailDirectory = \"/srv/mail\"\n"
                       "[loginAccounts.\"user1@example.com\"]\nhashedPassword = \"" + hash + "\"\nquota = \"2G\"\n";
    if (!extra_account.empty())
        toml += "[loginAccounts.\"" + extra_account + "\"]\nhashedPassword = \"" + kHash + "\"\n";
    return toml;
}

struct LogLine {
    bool error;
    std::string message;
};

class AccountsDbTest : public snm::testing::StateDirectory {
protected:
    AccountsDb::Logger logger() {
        return [this](bool error, const std::string& message) { log_.push_back({error, message}); };
    }
    std::vector<std::string> errors() const {
        std::vector<std::string> lines;
        for (const auto& line : log_)
            if (line.error) lines.push_back(line.message);
        return lines;
    }
    std::string snapshot() const { return path("accounts.cdb"); }

    std::vector<LogLine> log_;
};

}  // namespace

TEST_F(AccountsDbTest, FindsPasswordsAndUserdbFieldsInAnyCase) {
    ASSERT_TRUE(apply(accounts()));
    AccountsDb db(snapshot(), logger());
    auto password = db.password("User1@EXAMPLE.com");
    ASSERT_EQ(password.status, Lookup::Found);
    EXPECT_EQ(password.value, "{SHA512-CRYPT}" + kHash);

    auto fields = db.userdb_fields("user1@example.com");
    ASSERT_EQ(fields.status, Lookup::Found);
    std::map<std::string, std::string> parsed;
    for_each_userdb_field(fields.value, [&](std::string_view k, std::string_view v) { parsed.emplace(k, v); });
    EXPECT_EQ(parsed, (std::map<std::string, std::string>{{"home", "/srv/mail/example.com/user1"},
                                                         {"mail", "maildir:/srv/mail/example.com/user1"},
                                                         {"uid", "5000"},
                                                         {"gid", "5000"},
                                                         {"quota_rule", "*:storage=2G"}}));
    ASSERT_EQ(log_.size(), 1u);
    EXPECT_FALSE(log_[0].error);
    EXPECT_EQ(log_[0].message, "snm: loaded snapshot " + snapshot());
}

TEST_F(AccountsDbTest, AnUnknownUserIsUnknownNotAFailure) {
    ASSERT_TRUE(apply(accounts()));
    AccountsDb db(snapshot(), logger());
    EXPECT_EQ(db.password("nobody@example.com").status, Lookup::UnknownUser);
    EXPECT_EQ(db.userdb_fields("nobody@example.com").status, Lookup::UnknownUser);
    EXPECT_EQ(db.password(std::string(5000, 'a')).status, Lookup::UnknownUser);
    EXPECT_EQ(db.password("").status, Lookup::UnknownUser);
    EXPECT_TRUE(errors().empty());
}

TEST_F(AccountsDbTest, ListsEveryAccount) {
    ASSERT_TRUE(apply(accounts(kHash, "user2@example.com")));
    AccountsDb db(snapshot(), logger());
    auto users = db.users();
    ASSERT_TRUE(users);
    std::vector<std::string> names;
    while (auto user = users->next()) names.push_back(*user);
    EXPECT_FALSE(users->failed());
    std::sort(names.begin(), names.end());
    EXPECT_EQ(names, (std::vector<std::string>{"user1@example.com", "user2@example.com"}));
}

TEST_F(AccountsDbTest, AMissingSnapshotFailsTemporarilyAndIsLoggedOnce) {
    AccountsDb db(snapshot(), logger());
    for (int i = 0; i < 3; ++i) {
        EXPECT_EQ(db.password("user1@example.com").status, Lookup::Unavailable);
        EXPECT_EQ(db.userdb_fields("user1@example.com").status, Lookup::Unavailable);
        EXPECT_FALSE(db.users());
        db.refresh();
    }
    ASSERT_EQ(errors().size(), 1u);
    EXPECT_EQ(errors()[0], "snm: snapshot " + snapshot() +
                               " is missing: No such file or directory (run `snmctl apply`); every login and user "
                               "lookup fails temporarily until a good snapshot appears");
}

TEST_F(AccountsDbTest, ACorruptSnapshotFailsTemporarilyAndRecovers) {
    ASSERT_TRUE(apply(accounts()));
    AccountsDb db(snapshot(), logger());
    EXPECT_TRUE(db.refresh()) << "the first snapshot is a change from none";
    ASSERT_EQ(db.password("user1@example.com").status, Lookup::Found);

    { std::ofstream(snapshot() + ".new") << "not a constant database"; }
    std::filesystem::rename(snapshot() + ".new", snapshot());
    EXPECT_TRUE(db.refresh());
    EXPECT_EQ(db.password("user1@example.com").status, Lookup::Unavailable);
    db.refresh();
    ASSERT_EQ(errors().size(), 1u);
    EXPECT_NE(errors()[0].find(snapshot()), std::string::npos) << errors()[0];
    EXPECT_NE(errors()[0].find("fails temporarily"), std::string::npos);

    ASSERT_TRUE(apply(accounts(kOtherHash)));
    EXPECT_TRUE(db.refresh());
    auto password = db.password("user1@example.com");
    ASSERT_EQ(password.status, Lookup::Found);
    EXPECT_EQ(password.value, "{SHA512-CRYPT}" + kOtherHash);
    EXPECT_EQ(errors().size(), 1u);
}

TEST_F(AccountsDbTest, ACorruptRecordFailsTemporarilyAndIsLoggedOnce) {
    ASSERT_TRUE(apply(accounts()));
    std::string bytes;
    {
        std::ifstream in(snapshot(), std::ios::binary);
        bytes.assign(std::istreambuf_iterator<char>(in), {});
    }
    // Records start after the 2048-byte header with the format stamp; they
    // end where the first hash table starts. Garble every record after it.
    std::uint32_t records_end = bytes.size();
    for (int t = 0; t < 256; ++t) {
        std::uint32_t position;
        std::memcpy(&position, bytes.data() + 8 * t, 4);  // little endian, as the machine
        records_end = std::min(records_end, position);
    }
    const std::size_t first_account = 2048 + 8 + snm::kFormatKey.size() + snm::layout::kAccountsFormat.size();
    for (std::size_t i = first_account; i < records_end; ++i) bytes[i] = '\xff';
    { std::ofstream(snapshot() + ".new", std::ios::binary) << bytes; }
    std::filesystem::rename(snapshot() + ".new", snapshot());

    AccountsDb db(snapshot(), logger());
    EXPECT_EQ(db.password("user1@example.com").status, Lookup::Unavailable);
    EXPECT_EQ(db.userdb_fields("user1@example.com").status, Lookup::Unavailable);
    ASSERT_EQ(errors().size(), 1u);
    EXPECT_EQ(errors()[0], "snm: snapshot " + snapshot() +
                               " has an unreadable or corrupt record; lookups that need it fail temporarily; run "
                               "`snmctl apply` to rewrite it");
}

TEST_F(AccountsDbTest, AReplacedSnapshotIsUsedAndAListingInProgressKeepsItsSnapshot) {
    ASSERT_TRUE(apply(accounts(kHash, "user2@example.com")));
    AccountsDb db(snapshot(), logger());
    EXPECT_TRUE(db.refresh());
    EXPECT_FALSE(db.refresh()) << "nothing changed";
    auto listing = db.users();
    ASSERT_TRUE(listing);
    ASSERT_TRUE(listing->next());

    ASSERT_TRUE(apply(accounts(kOtherHash)));
    EXPECT_TRUE(db.refresh());
    EXPECT_EQ(db.password("user1@example.com").value, "{SHA512-CRYPT}" + kOtherHash);
    EXPECT_TRUE(listing->next()) << "the old file's second account is still listed";
    EXPECT_FALSE(listing->next());
    EXPECT_FALSE(listing->failed());
    EXPECT_FALSE(db.refresh());
}

TEST_F(AccountsDbTest, AReplacedSnapshotIsNoticedWithinASecondWithoutRefresh) {
    ASSERT_TRUE(apply(accounts()));
    AccountsDb db(snapshot(), logger());
    ASSERT_EQ(db.password("user1@example.com").value, "{SHA512-CRYPT}" + kHash);
    ASSERT_TRUE(apply(accounts(kOtherHash)));
    // The file is checked at most once a second: poll, as a client would.
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (db.password("user1@example.com").value != "{SHA512-CRYPT}" + kOtherHash &&
           std::chrono::steady_clock::now() < deadline)
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
    EXPECT_EQ(db.password("user1@example.com").value, "{SHA512-CRYPT}" + kOtherHash);
}

TEST_F(AccountsDbTest, OnePathIsSharedWithinAProcess) {
    ASSERT_TRUE(apply(accounts()));
    auto passdb = AccountsDb::shared(snapshot(), logger());
    auto userdb = AccountsDb::shared(snapshot(), logger());
    EXPECT_EQ(passdb, userdb);
    EXPECT_NE(AccountsDb::shared(path("other.cdb"), logger()), passdb);
    std::weak_ptr<AccountsDb> gone = passdb;
    passdb.reset();
    userdb.reset();
    EXPECT_TRUE(gone.expired()) << "released when no module holds it";
}

TEST(UserdbFields, SplitOnTabsAndTheFirstEquals) {
    std::vector<std::pair<std::string, std::string>> fields;
    for_each_userdb_field("home=/a\t\tmail=maildir:/a:LAYOUT=fs\tnopassword\t",
                          [&](std::string_view k, std::string_view v) { fields.emplace_back(k, v); });
    EXPECT_EQ(fields, (std::vector<std::pair<std::string, std::string>>{
                          {"home", "/a"}, {"mail", "maildir:/a:LAYOUT=fs"}, {"nopassword", ""}}));
    bool called = false;
    for_each_userdb_field("", [&](std::string_view, std::string_view) { called = true; });
    EXPECT_FALSE(called);
}
