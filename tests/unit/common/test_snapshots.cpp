// Unit tests of the snapshot files: compiling, reading, file modes, format
// stamps, atomic replacement and switching readers to a new snapshot.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <fstream>
#include <algorithm>
#include <thread>

#include "accounts_snapshot.hpp"
#include "dkim_snapshot.hpp"
#include "routing_snapshot.hpp"
#include "snapshot_fixture.hpp"
#include "snapshot_layout.hpp"
#include "snapshot_source.hpp"

using namespace snm;
using snm::testing::account_toml;
using snm::testing::kHash;

namespace {

std::string config_with(const std::string& accounts) {
    return "fqdn = \"mail.example.com\"\ndomains = [\"example.com\"]\nmailDirectory = \"/srv/mail\"\n" + accounts;
}

// The password hash of `user`, or "(none)".
std::string password(const AccountsSnapshot& snapshot, std::string_view user) {
    std::string value;
    return snapshot.password(user, value) == Find::Found ? value : "(none)";
}

bool has_account(const std::shared_ptr<const AccountsSnapshot>& snapshot, std::string_view user) {
    return password(*snapshot, user) != "(none)";
}

mode_t mode_of(const std::string& path) {
    struct stat st {};
    EXPECT_EQ(::stat(path.c_str(), &st), 0) << path;
    return st.st_mode & 07777;
}

}  // namespace

class Snapshots : public snm::testing::StateDirectory {};

TEST_F(Snapshots, AccountsHoldDovecotPasswordAndUserdbFields) {
    ASSERT_TRUE(apply(config_with(account_toml("user1@example.com", "quota = \"2G\"\nsieveScript = \"keep;\"\n"))));
    auto snapshot = AccountsSnapshot::open(path("accounts.cdb"));
    ASSERT_TRUE(snapshot) << snapshot.error().message;
    EXPECT_EQ(password(**snapshot, "user1@example.com"), "{SHA512-CRYPT}" + kHash);
    EXPECT_EQ(password(**snapshot, "USER1@Example.COM"), "{SHA512-CRYPT}" + kHash);
    EXPECT_EQ(password(**snapshot, "nobody@example.com"), "(none)");
    std::string fields;
    ASSERT_EQ((*snapshot)->userdb_fields("user1@example.com", fields), Find::Found);
    EXPECT_EQ(fields,
              "home=/srv/mail/example.com/user1\tmail=maildir:/srv/mail/example.com/user1\tuid=5000\tgid=5000"
              "\tquota_rule=*:storage=2G\tsieve=" + state() + "/sieve/user1@example.com/default.sieve");
    std::vector<std::string> users;
    CdbFile::Position position;
    for (std::string user; (*snapshot)->next_user(position, user);) users.push_back(user);
    EXPECT_FALSE(position.failed);
    EXPECT_EQ(users, std::vector<std::string>{"user1@example.com"});
}

TEST_F(Snapshots, MailLocationCarriesTheLayoutAndUtf8FolderNames) {
    ASSERT_TRUE(apply(config_with("useFsLayout = true\nuseUTF8FolderNames = true\n" + account_toml("user1@example.com"))));
    auto snapshot = AccountsSnapshot::open(path("accounts.cdb"));
    ASSERT_TRUE(snapshot) << snapshot.error().message;
    std::string fields;
    ASSERT_EQ((*snapshot)->userdb_fields("user1@example.com", fields), Find::Found);
    EXPECT_NE(fields.find("\tmail=maildir:/srv/mail/example.com/user1:LAYOUT=fs:UTF-8\t"), std::string::npos) << fields;
}

TEST_F(Snapshots, KeepHashesAwayFromEveryoneButDovecot) {
    ASSERT_TRUE(apply(config_with(account_toml("user1@example.com"))));
    EXPECT_EQ(mode_of(path("accounts.cdb")), 0600u);  // not root: owner only
    EXPECT_EQ(mode_of(path("routing.cdb")), 0644u);
    EXPECT_EQ(mode_of(path("dkim.cdb")), 0644u);
    // The routing snapshot carries no password hash.
    std::ifstream routing(path("routing.cdb"), std::ios::binary);
    std::string bytes((std::istreambuf_iterator<char>(routing)), {});
    EXPECT_EQ(bytes.find("$6$"), std::string::npos);
    EXPECT_EQ(bytes.find("z4n8AQl6K"), std::string::npos);
}

TEST_F(Snapshots, DkimTableListsSelectorsPerDomain) {
    ASSERT_TRUE(apply(config_with(account_toml("user1@example.com") +
                                  "[dkim]\ninternalNetworks = [\"10.0.0.0/8\"]\n"
                                  "[dkim.domains.\"example.com\"]\n"
                                  "selectors = [ { name = \"r1\", algorithm = \"rsa\" }, { name = \"e1\", algorithm = \"ed25519\" } ]\n")));
    auto dkim = DkimSnapshot::open(path("dkim.cdb"));
    ASSERT_TRUE(dkim) << dkim.error().message;
    const auto* selectors = (*dkim)->selectors("example.com");
    ASSERT_TRUE(selectors);
    ASSERT_EQ(selectors->size(), 2u);
    EXPECT_EQ((*selectors)[0].selector, "r1");
    EXPECT_EQ((*selectors)[1].algorithm, DkimAlgorithm::Ed25519);
    EXPECT_EQ((*selectors)[1].key_file, state() + "/dkim/example.com.e1.key");
    EXPECT_EQ((*dkim)->internal_networks, std::vector<std::string>{"10.0.0.0/8"});
    EXPECT_EQ((*dkim)->header_canonicalization, Canonicalization::Relaxed);
}

TEST_F(Snapshots, DkimSigningOffMeansNoSigningDomains) {
    ASSERT_TRUE(apply(config_with("dkimSigning = false\n" + account_toml("user1@example.com"))));
    auto dkim = DkimSnapshot::open(path("dkim.cdb"));
    ASSERT_TRUE(dkim);
    EXPECT_TRUE((*dkim)->domains().empty());
}

TEST_F(Snapshots, ReaderRefusesAnUnknownFormat) {
    ASSERT_TRUE(apply(config_with(account_toml("user1@example.com"))));
    auto wrong = AccountsSnapshot::open(path("routing.cdb"));
    ASSERT_FALSE(wrong);
    EXPECT_NE(wrong.error().message.find("has format \"snm-routing 1\", but this program reads \"snm-accounts 1\""),
              std::string::npos)
        << wrong.error().message;
    std::ofstream(path("garbage.cdb")) << "not a cdb";
    auto garbage = AccountsSnapshot::open(path("garbage.cdb"));
    ASSERT_FALSE(garbage);
    EXPECT_NE(garbage.error().message.find(path("garbage.cdb")), std::string::npos);
    auto missing = AccountsSnapshot::open(path("missing.cdb"));
    ASSERT_FALSE(missing);
    EXPECT_NE(missing.error().message.find("run `snmctl apply`"), std::string::npos);
}

TEST_F(Snapshots, AFailedApplyChangesNothing) {
    ASSERT_TRUE(apply(config_with(account_toml("user1@example.com"))));
    struct stat before {};
    ::stat(path("accounts.cdb").c_str(), &before);
    // hashedPasswordFile that vanished between check and compile: the
    // compiler fails after staging started; nothing may change.
    StagedFiles staged;
    auto loaded = load_config_text("stateDirectory = \"" + state() + "\"\n" + config_with(account_toml("user2@example.com")),
                                   "snm.toml");
    ASSERT_TRUE(loaded.config);
    loaded.config->loginAccounts[0].hashedPassword.clear();
    loaded.config->loginAccounts[0].hashedPasswordFile = root_ + "/vanished";
    EXPECT_FALSE(stage_snapshots(*loaded.config, SnapshotOwners{}, staged));
    struct stat after {};
    ::stat(path("accounts.cdb").c_str(), &after);
    EXPECT_EQ(before.st_ino, after.st_ino);
    auto snapshot = AccountsSnapshot::open(path("accounts.cdb"));
    EXPECT_TRUE(has_account(*snapshot, "user1@example.com"));
    // and no temporary files are left behind once `staged` is gone
}

TEST_F(Snapshots, NoTemporaryFilesAreLeftBehind) {
    ASSERT_TRUE(apply(config_with(account_toml("user1@example.com"))));
    std::vector<std::string> names;
    for (auto& entry : std::filesystem::directory_iterator(state())) names.push_back(entry.path().filename());
    std::sort(names.begin(), names.end());
    EXPECT_EQ(names, (std::vector<std::string>{"accounts.cdb", "dkim.cdb", "routing.cdb"}));
}

TEST_F(Snapshots, AHeldReaderSwitchesToTheReplacedSnapshot) {
    ASSERT_TRUE(apply(config_with(account_toml("user1@example.com"))));
    std::vector<std::string> events;
    SnapshotSource<AccountsSnapshot> source(path("accounts.cdb"), OnBrokenSnapshot::Fail,
                                            [&](const SnapshotEvent& e) { events.push_back(e.message); });
    auto first = source.get();
    ASSERT_TRUE(first);
    EXPECT_TRUE(has_account(first, "user1@example.com"));
    EXPECT_FALSE(has_account(first, "user2@example.com"));

    ASSERT_TRUE(apply(config_with(account_toml("user2@example.com"))));
    source.request_reload();
    auto second = source.get();
    ASSERT_TRUE(second);
    EXPECT_TRUE(has_account(second, "user2@example.com"));
    EXPECT_FALSE(has_account(second, "user1@example.com"));
    // The old snapshot stays valid for a request still holding it.
    EXPECT_TRUE(has_account(first, "user1@example.com"));
    EXPECT_EQ(events.size(), 2u);
}

TEST_F(Snapshots, ChangesAreNoticedWithinASecondWithoutSignal) {
    ASSERT_TRUE(apply(config_with(account_toml("user1@example.com"))));
    SnapshotSource<AccountsSnapshot> source(path("accounts.cdb"), OnBrokenSnapshot::Fail);
    ASSERT_TRUE(has_account(source.get(), "user1@example.com"));
    ASSERT_TRUE(apply(config_with(account_toml("user2@example.com"))));
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(3);
    while (!has_account(source.get(), "user2@example.com") && std::chrono::steady_clock::now() < deadline)
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
    EXPECT_TRUE(has_account(source.get(), "user2@example.com"));
}

TEST_F(Snapshots, BrokenSnapshotPolicies) {
    ASSERT_TRUE(apply(config_with(account_toml("user1@example.com"))));
    std::vector<SnapshotEvent> events;
    SnapshotSource<AccountsSnapshot> failing(path("accounts.cdb"), OnBrokenSnapshot::Fail,
                                             [&](const SnapshotEvent& e) { events.push_back(e); });
    SnapshotSource<AccountsSnapshot> keeping(path("accounts.cdb"), OnBrokenSnapshot::KeepLast);
    ASSERT_TRUE(failing.get());
    ASSERT_TRUE(keeping.get());

    // Replace with garbage (atomically, as an editor or a bad copy would).
    std::ofstream(path("broken.tmp")) << "garbage";
    ASSERT_EQ(std::rename(path("broken.tmp").c_str(), path("accounts.cdb").c_str()), 0);
    failing.request_reload();
    keeping.request_reload();
    EXPECT_FALSE(failing.get());
    EXPECT_FALSE(failing.get());  // reported once, not per lookup
    EXPECT_NE(failing.error().find(path("accounts.cdb")), std::string::npos);
    ASSERT_TRUE(keeping.get());
    EXPECT_TRUE(has_account(keeping.get(), "user1@example.com"));

    // Deleted: still a temporary failure, then recovery.
    std::remove(path("accounts.cdb").c_str());
    failing.request_reload();
    EXPECT_FALSE(failing.get());
    ASSERT_TRUE(apply(config_with(account_toml("user1@example.com"))));
    failing.request_reload();
    ASSERT_TRUE(failing.get());
    EXPECT_TRUE(failing.error().empty());
    int errors = 0;
    for (auto& e : events) errors += e.error;
    EXPECT_EQ(errors, 2);  // the corrupt file, then the missing one
}
