// DKIM key files: generation, TXT records, and the checks the milter makes
// before it signs with a key (each refusal names the path and the fix).
#include <openssl/pem.h>
#include <sys/stat.h>

#include <fstream>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "key_fixture.hpp"

using namespace snm;
using ::testing::HasSubstr;
using snm::milter::testing::KeyDirectory;

namespace {

void write_file(const std::string& path, const std::string& content, mode_t mode) {
    std::ofstream(path) << content;
    ::chmod(path.c_str(), mode);
}

}  // namespace

TEST(DkimKeys, ApplyGeneratesPrivateKeysAndTxtRecords) {
    KeyDirectory keys;
    keys.apply();
    struct stat st {};
    ASSERT_EQ(::stat(keys.key("example.com", "rsa").c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 07777, 0600u);
    auto rsa = load_dkim_key(keys.key("example.com", "rsa"), DkimAlgorithm::Rsa);
    ASSERT_TRUE(rsa) << rsa.error().message;
    EXPECT_EQ(rsa->bits, 1024u);
    EXPECT_FALSE(rsa->warning);
    auto ed = load_dkim_key(keys.key("example.com", "ed"), DkimAlgorithm::Ed25519);
    ASSERT_TRUE(ed) << ed.error().message;
    EXPECT_EQ(ed->public_key.size(), 44u);  // 32 bytes in base64
    // The default selector of a domain without [dkim.domains] entry.
    EXPECT_TRUE(load_dkim_key(keys.key("example.net", "mail"), DkimAlgorithm::Rsa));
}

TEST(DkimKeys, ApplyKeepsExistingKeys) {
    KeyDirectory keys;
    keys.apply();
    const auto before = read_dkim_key(keys.key("example.com", "rsa"))->public_key;
    keys.apply();
    EXPECT_EQ(read_dkim_key(keys.key("example.com", "rsa"))->public_key, before);
}

TEST(DkimKeys, FailedStagingLeavesNoKeyBehind) {
    KeyDirectory keys;
    {
        StagedFiles staged;
        ASSERT_TRUE(stage_missing_dkim_keys(keys.config, staged));
    }  // never committed
    EXPECT_FALSE(std::filesystem::exists(keys.key("example.com", "rsa")));
    EXPECT_TRUE(std::filesystem::is_empty(keys.config.dkimKeyDirectory));
}

TEST(DkimKeys, TxtRecordsAreSplitInto255ByteStrings) {
    const std::string value(600, 'p');
    const auto quoted = quoted_txt_strings(value);
    EXPECT_EQ(quoted, "\"" + value.substr(0, 255) + "\" \"" + value.substr(255, 255) + "\" \"" + value.substr(510) + "\"");
    const auto record = dkim_zone_record("example.com", "sel", "v=DKIM1; k=rsa; p=" + value);
    EXPECT_THAT(record, ::testing::StartsWith("sel._domainkey.example.com. 10800 IN TXT \"v=DKIM1; k=rsa; p="));
    EXPECT_EQ(public_key_of_txt_record(record), value);
}

TEST(DkimKeys, RefusesKeysReadableByOthersNamingPathAndFix) {
    KeyDirectory keys;
    keys.apply();
    const auto path = keys.key("example.com", "rsa");
    ::chmod(path.c_str(), 0640);
    auto loaded = load_dkim_key(path, DkimAlgorithm::Rsa);
    ASSERT_FALSE(loaded);
    EXPECT_THAT(loaded.error().message, HasSubstr(path));
    EXPECT_THAT(loaded.error().message, HasSubstr("chmod 600 " + path));
}

TEST(DkimKeys, RefusesKeysInDirectoriesOthersMayWrite) {
    KeyDirectory keys;
    keys.apply();
    ::chmod(keys.config.dkimKeyDirectory.c_str(), 0777);
    auto loaded = load_dkim_key(keys.key("example.com", "ed"), DkimAlgorithm::Ed25519);
    ASSERT_FALSE(loaded);
    EXPECT_THAT(loaded.error().message, HasSubstr("directory " + keys.config.dkimKeyDirectory));
    EXPECT_THAT(loaded.error().message, HasSubstr("chmod o-w"));
    // A sticky, world-writable directory further up (like /tmp) is fine.
    ::chmod(keys.config.dkimKeyDirectory.c_str(), 0750);
    ::chmod(keys.config.stateDirectory.c_str(), 01777);
    EXPECT_TRUE(load_dkim_key(keys.key("example.com", "ed"), DkimAlgorithm::Ed25519));
    ::chmod(keys.config.stateDirectory.c_str(), 0777);
    EXPECT_FALSE(load_dkim_key(keys.key("example.com", "ed"), DkimAlgorithm::Ed25519));
}

TEST(DkimKeys, RefusesRsaKeysUnder1024Bits) {
    KeyDirectory keys;
    keys.apply();
    // OpenSSL still makes 512-bit keys when asked directly.
    EVP_PKEY* raw = EVP_RSA_gen(512);
    ASSERT_NE(raw, nullptr);
    EvpPkeyPtr small(raw);
    const auto path = keys.key("example.com", "rsa");
    write_file(path, *private_key_pem(small.get()), 0600);
    write_file(dkim_txt_path(path), dkim_zone_record("example.com", "rsa", dkim_txt_value(DkimAlgorithm::Rsa,
                                                                                          *dkim_public_key(small.get()))),
               0644);
    auto loaded = load_dkim_key(path, DkimAlgorithm::Rsa);
    ASSERT_FALSE(loaded);
    EXPECT_THAT(loaded.error().message, HasSubstr("has 512 bits"));
    EXPECT_THAT(loaded.error().message, HasSubstr(path));
}

TEST(DkimKeys, RefusesAKeyThatDoesNotMatchItsTxtRecord) {
    KeyDirectory keys;
    keys.apply();
    const auto path = keys.key("example.com", "rsa");
    const auto other = read_dkim_key(keys.key("example.net", "mail"));
    write_file(dkim_txt_path(path), dkim_zone_record("example.com", "rsa", dkim_txt_value(DkimAlgorithm::Rsa, other->public_key)),
               0644);
    auto loaded = load_dkim_key(path, DkimAlgorithm::Rsa);
    ASSERT_FALSE(loaded);
    EXPECT_THAT(loaded.error().message, HasSubstr("does not match its TXT record " + dkim_txt_path(path)));
}

TEST(DkimKeys, RefusesAnAlgorithmOtherThanTheSelectors) {
    KeyDirectory keys;
    keys.apply();
    auto loaded = load_dkim_key(keys.key("example.com", "ed"), DkimAlgorithm::Rsa);
    ASSERT_FALSE(loaded);
    EXPECT_THAT(loaded.error().message, HasSubstr("is an ed25519 key but its selector is configured as rsa"));
}

TEST(DkimKeys, MissingTxtFileIsAWarningNotARefusal) {
    KeyDirectory keys;
    keys.apply();
    std::filesystem::remove(dkim_txt_path(keys.key("example.com", "ed")));
    auto loaded = load_dkim_key(keys.key("example.com", "ed"), DkimAlgorithm::Ed25519);
    ASSERT_TRUE(loaded);
    ASSERT_TRUE(loaded->warning);
    EXPECT_THAT(*loaded->warning, HasSubstr("has no TXT record file"));
}
