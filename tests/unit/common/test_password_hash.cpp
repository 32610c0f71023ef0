// Unit tests of password_hash.hpp: recognising the hash forms snm.toml
// accepts, and hashing. (Dovecot verifying our hashes is pinned by the
// ctl tests, which run `doveadm pw -t`.)
#include <crypt.h>
#include <gtest/gtest.h>

#include "password_hash.hpp"

using namespace snm;

namespace {
const std::string kSeedHash =
    "$6$/z4n8AQl6K$kiOkBTWlZfBd7PvF5GsJ8PmPgdZsFGN1jPGZufxxr60PoR0oUsrvzm2oQiflyz5ir9fFJ.d/zKm/NgLXNUsNX/";
}

TEST(PasswordHash, MapsCryptStringsToDovecotSchemes) {
    EXPECT_EQ(*dovecot_password(kSeedHash), "{SHA512-CRYPT}" + kSeedHash);
    const std::string bcrypt = "$2y$10$abcdefghijklmnopqrstuu5Rc3YH5yTqWUNvmpNWO1u7z6X1hQ.Ci";
    ASSERT_TRUE(dovecot_password(bcrypt)) << dovecot_password(bcrypt).error().message;
    EXPECT_EQ(*dovecot_password(bcrypt), "{BLF-CRYPT}" + bcrypt);
    const std::string argon = "$argon2id$v=19$m=65536,t=3,p=1$c29tZXNhbHRzb21lc2FsdA$S0mGJ5Xh1mDq1Q4s1VdZ0kV6v7Xo3N1J1u5b8n4Yx0A";
    EXPECT_EQ(*dovecot_password(argon), "{ARGON2ID}" + argon);
}

TEST(PasswordHash, AcceptsDovecotSchemeForm) {
    EXPECT_TRUE(dovecot_password("{SHA512-CRYPT}" + kSeedHash));
    EXPECT_TRUE(dovecot_password("{ssha512}abcdef"));
    EXPECT_TRUE(dovecot_password("{SHA256.b64}abcdef"));
    EXPECT_TRUE(is_cleartext_scheme("{PLAIN}secret"));
    EXPECT_FALSE(is_cleartext_scheme("{SHA512-CRYPT}x"));
}

TEST(PasswordHash, RejectsWhatDovecotCannotVerify) {
    EXPECT_FALSE(dovecot_password(""));
    EXPECT_FALSE(dovecot_password("secret"));
    EXPECT_FALSE(dovecot_password("{NOPE}abc"));
    EXPECT_FALSE(dovecot_password("{SHA512-CRYPT}"));
    EXPECT_FALSE(dovecot_password(kSeedHash.substr(0, kSeedHash.size() - 5)));  // truncated
    EXPECT_FALSE(dovecot_password("$2y$10$short"));
    EXPECT_FALSE(dovecot_password("$argon2d$v=19$m=65536,t=3,p=1$c2FsdA$aGFzaA"));
    EXPECT_FALSE(dovecot_password(kSeedHash + "\n"));
    auto error = dovecot_password("plaintext");
    EXPECT_NE(error.error().message.find("snmctl passwd"), std::string::npos);
}

TEST(PasswordHash, HashesVerifyWithCrypt) {
    for (auto scheme : {HashScheme::Sha512Crypt, HashScheme::Bcrypt}) {
        auto hash = hash_password("correct horse", scheme);
        ASSERT_TRUE(hash) << hash.error().message;
        EXPECT_TRUE(dovecot_password(*hash)) << *hash;
        crypt_data data{};
        EXPECT_EQ(std::string(crypt_r("correct horse", hash->c_str(), &data)), *hash);
        EXPECT_NE(std::string(crypt_r("wrong horse", hash->c_str(), &data)), *hash);
    }
    auto argon = hash_password("correct horse", HashScheme::Argon2id);
    ASSERT_TRUE(argon) << argon.error().message;
    EXPECT_TRUE(argon->starts_with("$argon2id$v=19$m=65536,t=3,p=1$")) << *argon;
    EXPECT_TRUE(dovecot_password(*argon));
}

TEST(PasswordHash, SaltsDiffer) {
    EXPECT_NE(*hash_password("x", HashScheme::Sha512Crypt), *hash_password("x", HashScheme::Sha512Crypt));
}

TEST(PasswordHash, ParsesSchemeNames) {
    EXPECT_TRUE(parse_hash_scheme("bcrypt"));
    EXPECT_FALSE(parse_hash_scheme("md5"));
}
