// Unit tests of config_loader.hpp: the golden SNM example, defaults, and
// every kind of bad input, each pinned to its file:line:col diagnostic.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>

#include "config_loader.hpp"
#include "snapshot_fixture.hpp"

using namespace snm;
using ::testing::HasSubstr;
using snm::testing::account_toml;
using snm::testing::kHash;

namespace {

// A minimal valid file; tests append to it. Lines 1-2 are fqdn and domains.
std::string base() {
    return "fqdn = \"mail.example.com\"\n"
           "domains = [\"example.com\", \"example2.com\"]\n";
}

LoadedConfig load(const std::string& text) { return load_config_text(text, "snm.toml"); }

std::vector<std::string> errors(const LoadedConfig& loaded) {
    std::vector<std::string> out;
    for (const auto& d : loaded.diagnostics)
        if (d.severity == Severity::Error) out.push_back(d.format());
    return out;
}

// The single error of `text`, formatted.
std::string only_error(const std::string& text) {
    auto loaded = load(text);
    auto list = errors(loaded);
    EXPECT_FALSE(loaded.config);
    EXPECT_EQ(list.size(), 1u) << ::testing::PrintToString(list);
    return list.empty() ? "" : list.front();
}

}  // namespace

TEST(ConfigLoader, GoldenSeedReadmeExampleIsValid) {
    auto loaded = load_config_file(std::string(SNM_TEST_DATA) + "/seed-readme.toml");
    ASSERT_TRUE(loaded.config) << ::testing::PrintToString(errors(loaded));
    const Config& config = *loaded.config;
    EXPECT_EQ(config.fqdn, "mail.example.com");
    EXPECT_EQ(config.domains, (std::vector<std::string>{"example.com", "example2.com"}));
    ASSERT_EQ(config.loginAccounts.size(), 2u);
    EXPECT_EQ(config.loginAccounts[0].catchAll, (std::vector<std::string>{"example.com", "example2.com"}));
    EXPECT_EQ(config.extraVirtualAliases.at("abuse@example.com"), (std::vector<std::string>{"user1@example.com"}));
    EXPECT_TRUE(config.enable);
    EXPECT_EQ(config.certificateScheme, CertificateScheme::AcmeNginx);
    EXPECT_EQ(config.acmeServer, "https://acme-v02.api.letsencrypt.org/directory");
    EXPECT_EQ(config.acmeCertificateName, "mail.example.com");
    EXPECT_TRUE(config.enablePop3);
    EXPECT_EQ(config.acmeEmail, "postmaster@example.com");
    // The numeric scheme is a deprecation warning, with its position. Nothing else.
    ASSERT_EQ(loaded.diagnostics.size(), 1u) << loaded.diagnostics.back().format();
    EXPECT_EQ(loaded.diagnostics[0].severity, Severity::Warning);
    EXPECT_THAT(loaded.diagnostics[0].format(), HasSubstr(":12:21: warning: `certificateScheme = 3` is deprecated (as in SNM); write `certificateScheme = \"acme-nginx\"`"));
}

TEST(ConfigLoader, DefaultsAreSnms) {
    auto loaded = load(base() + account_toml("user1@example.com"));
    ASSERT_TRUE(loaded.config);
    const Config& c = *loaded.config;
    EXPECT_TRUE(c.enableImap);
    EXPECT_FALSE(c.enablePop3);
    EXPECT_TRUE(c.enableSubmission);
    EXPECT_FALSE(c.virusScanning);
    EXPECT_TRUE(c.dkimSigning);
    EXPECT_EQ(c.dkimSelector, "mail");
    EXPECT_EQ(c.dkimKeyBits, 1024u);
    EXPECT_EQ(c.mailDirectory, "/var/vmail");
    EXPECT_EQ(c.stateDirectory, "/var/lib/snm");
    EXPECT_EQ(c.dkimKeyDirectory, "/var/lib/snm/dkim");
    EXPECT_EQ(c.vmailUID, 5000u);
    EXPECT_EQ(c.vmailUserName, "virtualMail");
    EXPECT_EQ(c.recipientDelimiter, "+");
    EXPECT_TRUE(c.lmtpSaveToDetailMailbox);
    EXPECT_EQ(c.messageSizeLimit, 20971520u);
    EXPECT_EQ(c.certificateScheme, CertificateScheme::SelfSigned);
    ASSERT_EQ(c.mailboxes.size(), 4u);
    auto selectors = c.selectors_for("example.com");
    ASSERT_EQ(selectors.size(), 1u);
    EXPECT_EQ(selectors[0].keyFile, "/var/lib/snm/dkim/example.com.mail.key");
}

TEST(ConfigLoader, ReportsTomlSyntaxErrorsWithPosition) {
    EXPECT_THAT(only_error("fqdn = \"mail.example.com\"\ndomains = [\"example.com\"\n"),
                HasSubstr("snm.toml:2:26: error: not valid TOML: Error while parsing array"));
}

TEST(ConfigLoader, SuggestsTheNearestKnownKey) {
    EXPECT_EQ(only_error(base() + "dkimSelectr = \"x\"\n"),
              "snm.toml:3:1: error: unknown option `dkimSelectr` in the top level; did you mean `dkimSelector`?");
    EXPECT_THAT(only_error(base() + account_toml("user1@example.com", "alias = [\"a@example.com\"]\n")),
                HasSubstr("snm.toml:5:1: error: unknown option `alias` in login account `user1@example.com`; did you mean `aliases`?"));
    EXPECT_THAT(only_error(base() + "zzzzqqq = 1\n"), HasSubstr("unknown option `zzzzqqq` in the top level"));
}

TEST(ConfigLoader, ReportsTypeErrors) {
    EXPECT_EQ(only_error(base() + "enableImap = \"yes\"\n"),
              "snm.toml:3:14: error: `enableImap` must be true or false, not a string");
    EXPECT_EQ(only_error(base() + "dkimKeyBits = \"2048\"\n"),
              "snm.toml:3:15: error: `dkimKeyBits` must be an integer, not a string");
    EXPECT_THAT(only_error(base() + "dkimKeyBits = 512\n"), HasSubstr("snm.toml:3:15: error: `dkimKeyBits` is 512; expected a value from 1024 to 8192"));
    EXPECT_THAT(only_error("fqdn = \"mail.example.com\"\ndomains = \"example.com\"\n"),
                HasSubstr("snm.toml:2:11: error: `domains` must be a list of strings, not a string"));
}

TEST(ConfigLoader, ReportsEveryErrorNotJustTheFirst) {
    auto loaded = load(base() + "enableImap = 1\nenablePop3 = 2\nbogus = 3\n");
    EXPECT_EQ(errors(loaded).size(), 3u);
}

TEST(ConfigLoader, RejectsAnAddressOutsideTheDomains) {
    EXPECT_THAT(only_error(base() + account_toml("user1@example.org")),
                HasSubstr("snm.toml:3:16: error: login account `user1@example.org` is in domain `example.org`, which is not in `domains`"));
    EXPECT_THAT(only_error(base() + account_toml("user1@example.com", "aliases = [\"info@other.org\"]\n")),
                HasSubstr("snm.toml:5:12: error: alias `info@other.org` is in domain `other.org`"));
}

TEST(ConfigLoader, RejectsACatchAllDomainOutsideTheDomains) {
    EXPECT_THAT(only_error(base() + account_toml("user1@example.com", "catchAll = [\"example.org\"]\n")),
                HasSubstr("snm.toml:5:13: error: catchAll domain `example.org` of `user1@example.com` is not in `domains`"));
}

TEST(ConfigLoader, RejectsAnExtraVirtualAliasTargetThatIsNoAccount) {
    EXPECT_THAT(only_error(base() + account_toml("user1@example.com") +
                           "[extraVirtualAliases]\n\"abuse@example.com\" = \"nobody@example.com\"\n"),
                HasSubstr("snm.toml:6:23: error: extraVirtualAliases target `nobody@example.com` is not a login account"));
}

TEST(ConfigLoader, RejectsTheSameAddressClaimedTwiceNamingBoth) {
    // alias vs account
    EXPECT_THAT(only_error(base() + account_toml("user1@example.com", "aliases = [\"user2@example.com\"]\n") +
                           account_toml("user2@example.com")),
                HasSubstr("snm.toml:6:16: error: `user2@example.com` is claimed twice: as a login account here, "
                          "and as an alias of user1@example.com at line 5"));
    // alias vs extraVirtualAliases
    EXPECT_THAT(only_error(base() + account_toml("user1@example.com", "aliases = [\"info@example.com\"]\n") +
                           "[extraVirtualAliases]\n\"info@example.com\" = \"user1@example.com\"\n"),
                HasSubstr("`info@example.com` is claimed twice: as an extraVirtualAliases entry here, and as an alias of user1@example.com at line 5"));
    // alias vs forward
    EXPECT_THAT(only_error(base() + account_toml("user1@example.com", "aliases = [\"info@example.com\"]\n") +
                           "[forwards]\n\"info@example.com\" = \"x@elsewhere.org\"\n"),
                HasSubstr("`info@example.com` is claimed twice: as a forward here, and as an alias of user1@example.com"));
    // two catch-alls of one domain
    EXPECT_THAT(only_error(base() + account_toml("user1@example.com", "catchAll = [\"example.com\"]\n") +
                           account_toml("user2@example.com", "catchAll = [\"example.com\"]\n")),
                HasSubstr("`@example.com` is claimed twice: as the catch-all of user2@example.com here, and as the catch-all of user1@example.com"));
}

TEST(ConfigLoader, AllowsAForwardOnALoginAccount) {
    auto loaded = load(base() + account_toml("user1@example.com") + "[forwards]\n\"user1@example.com\" = \"me@elsewhere.org\"\n");
    EXPECT_TRUE(loaded.config) << ::testing::PrintToString(errors(loaded));
}

TEST(ConfigLoader, RejectsBadQuotaStrings) {
    EXPECT_THAT(only_error(base() + account_toml("user1@example.com", "quota = \"2 GB\"\n")),
                HasSubstr("snm.toml:5:9: error: quota `2 GB` of `user1@example.com` is not a size"));
    for (const char* good : {"2G", "500M", "100k", "1T", "1024", "10GB"})
        EXPECT_TRUE(load(base() + account_toml("user1@example.com", std::string("quota = \"") + good + "\"\n")).config) << good;
}

TEST(ConfigLoader, ChecksHashedPasswordFiles) {
    char directory[] = "/tmp/snm-test-XXXXXX";
    ASSERT_TRUE(mkdtemp(directory));
    const std::string file = std::string(directory) + "/user1.hash";
    std::ofstream(file) << kHash << "\n";
    const auto with_file = [&](const std::string& path) {
        return base() + "[loginAccounts.\"user1@example.com\"]\nhashedPasswordFile = \"" + path + "\"\n";
    };
    ::chmod(file.c_str(), 0644);
    EXPECT_THAT(only_error(with_file(file)), HasSubstr("snm.toml:4:22: error: `hashedPasswordFile` `" + file +
                                                       "` is readable by every user; run `chmod o-rwx"));
    ::chmod(file.c_str(), 0640);
    EXPECT_TRUE(load(with_file(file)).config);
    EXPECT_THAT(only_error(with_file(std::string(directory) + "/missing")),
                HasSubstr("snm.toml:4:22: error: `hashedPasswordFile` `" + std::string(directory) +
                          "/missing` of `user1@example.com` cannot be read: No such file or directory"));
    std::ofstream(file) << "not-a-hash\n";
    EXPECT_THAT(only_error(with_file(file)), HasSubstr("not a password hash Dovecot can verify"));
    ::unlink(file.c_str());
    ::rmdir(directory);
}

TEST(ConfigLoader, RejectsHashesDovecotCannotVerify) {
    EXPECT_THAT(only_error(base() + "[loginAccounts.\"user1@example.com\"]\nhashedPassword = \"secret\"\n"),
                HasSubstr("snm.toml:4:18: error: `hashedPassword` of `user1@example.com`: not a password hash Dovecot can verify"));
    EXPECT_THAT(only_error(base() + "[loginAccounts.\"user1@example.com\"]\nhashedPassword = \"{BOGUS}abc\"\n"),
                HasSubstr("Dovecot has no password scheme `BOGUS`"));
    EXPECT_TRUE(load(base() + "[loginAccounts.\"user1@example.com\"]\nhashedPassword = \"{SHA512-CRYPT}" + kHash + "\"\n").config);
}

TEST(ConfigLoader, RequiresExactlyOneJunkMailbox) {
    EXPECT_THAT(only_error(base() + "[mailboxes]\nTrash = { auto = \"no\", specialUse = \"Trash\" }\n"),
                HasSubstr("snm.toml:3:1: error: `mailboxes` has 0 mailboxes with specialUse = \"Junk\"; expected exactly one"));
    EXPECT_THAT(only_error(base() + "[mailboxes]\nJunk = { specialUse = \"Junk\" }\nSpam = { specialUse = \"Junk\" }\n"),
                HasSubstr("has 2 mailboxes with specialUse = \"Junk\""));
    EXPECT_THAT(only_error(base() + "[mailboxes]\nJunk = { specialUse = \"Junk\" }\nX = { specialUse = \"Spam\" }\n"),
                HasSubstr("snm.toml:5:20: error: `specialUse` `Spam` is not an RFC 6154 special use"));
}

TEST(ConfigLoader, AcceptsNamedAndNumericCertificateSchemes) {
    EXPECT_EQ(load(base() + "certificateScheme = \"selfsigned\"\n").config->certificateScheme, CertificateScheme::SelfSigned);
    auto numeric = load(base() + "certificateScheme = 2\n");
    ASSERT_TRUE(numeric.config);
    EXPECT_EQ(numeric.config->certificateScheme, CertificateScheme::SelfSigned);
    EXPECT_EQ(numeric.diagnostics.at(0).severity, Severity::Warning);
    EXPECT_THAT(only_error(base() + "certificateScheme = 4\n"), HasSubstr("is not one of SNM's numbers 1, 2, 3"));
    EXPECT_THAT(only_error(base() + "certificateScheme = \"manual\"\n"), HasSubstr("needs `certificateFile` and `keyFile`"));
    EXPECT_THAT(only_error(base() + "certificateScheme = \"letsencrypt\"\n"),
                HasSubstr("expected \"manual\", \"selfsigned\", \"acme-nginx\" or \"acme\""));
    auto one = load(base() + "certificateScheme = 1\ncertificateFile = \"/c.pem\"\nkeyFile = \"/k.pem\"\n");
    ASSERT_TRUE(one.config);
    EXPECT_EQ(one.config->certificateScheme, CertificateScheme::Manual);
    EXPECT_THAT(one.diagnostics.at(0).format(), HasSubstr("write `certificateScheme = \"manual\"`"));
}

TEST(ConfigLoader, ReadsTheAcmeOptions) {
    auto obtained = load(base() +
                         "certificateScheme = \"acme-nginx\"\n"
                         "acmeEmail = \"hostmaster@example.com\"\n"
                         "acmeServer = \"https://ca.example.com/dir\"\n"
                         "certificateDomains = [\"IMAP.example.com\", \"smtp.example.com\"]\n"
                         "acmeWebroot = \"/var/www/acme\"\n");
    ASSERT_TRUE(obtained.config);
    EXPECT_TRUE(obtained.diagnostics.empty());
    EXPECT_EQ(obtained.config->certificateScheme, CertificateScheme::AcmeNginx);
    EXPECT_EQ(obtained.config->acmeServer, "https://ca.example.com/dir");
    EXPECT_EQ(obtained.config->certificateDomains, (std::vector<std::string>{"imap.example.com", "smtp.example.com"}));
    EXPECT_EQ(obtained.config->acmeWebroot, "/var/www/acme");

    auto kept = load(base() + "certificateScheme = \"acme\"\nacmeCertificateName = \"example.com\"\n"
                              "acmeCertificateDirectory = \"/var/lib/acme\"\n");
    ASSERT_TRUE(kept.config);
    EXPECT_EQ(kept.config->acmeCertificateName, "example.com");
    EXPECT_EQ(kept.config->acmeCertificateDirectory, "/var/lib/acme");

    EXPECT_THAT(only_error(base() + "acmeCertificateName = \"../etc\"\n"), HasSubstr("is not a certificate name"));
    EXPECT_THAT(only_error(base() + "certificateDomains = [\"bad name\"]\n"), HasSubstr("is not a host name"));
    EXPECT_THAT(only_error(base() + "acmeWebroot = \"www\"\n"), HasSubstr("acmeWebroot"));
    auto unused = load(base() + "certificateDomains = [\"imap.example.com\"]\n");
    ASSERT_TRUE(unused.config);
    EXPECT_THAT(unused.diagnostics.at(0).format(), HasSubstr("used only by certificateScheme \"acme-nginx\""));
}

TEST(ConfigLoader, ReadsTheModuleSwitch) {
    EXPECT_TRUE(load(base()).config->enable);
    EXPECT_FALSE(load(base() + "enable = false\n").config->enable);
    EXPECT_THAT(only_error(base() + "enable = \"no\"\n"), HasSubstr("`enable`"));
}

TEST(ConfigLoader, ReadsPerDomainDkimSelectors) {
    auto loaded = load(base() +
                       "dkimKeyBits = 2048\n"
                       "[dkim]\nonError = \"accept\"\n"
                       "[dkim.domains.\"example.com\"]\n"
                       "selectors = [ { name = \"rsa2024\", algorithm = \"rsa\", keyLength = 1536 },\n"
                       "              { name = \"ed2024\", algorithm = \"ed25519\" } ]\n");
    ASSERT_TRUE(loaded.config) << ::testing::PrintToString(errors(loaded));
    const auto& c = *loaded.config;
    EXPECT_EQ(c.dkimOnError, DkimOnError::Accept);
    auto selectors = c.selectors_for("example.com");
    ASSERT_EQ(selectors.size(), 2u);
    EXPECT_EQ(selectors[0].keyBits, 1536u);
    EXPECT_EQ(selectors[1].algorithm, DkimAlgorithm::Ed25519);
    EXPECT_EQ(selectors[1].keyFile, "/var/lib/snm/dkim/example.com.ed2024.key");
    // A domain without a table gets the default selector.
    EXPECT_EQ(c.selectors_for("example2.com").at(0).name, "mail");
    EXPECT_EQ(c.selectors_for("example2.com").at(0).keyBits, 2048u);

    EXPECT_THAT(only_error(base() + "[dkim.domains.\"example.org\"]\nselectors = [ { name = \"a\" } ]\n"),
                HasSubstr("snm.toml:3:15: error: [dkim.domains] names `example.org`, which is not in `domains`"));
    EXPECT_THAT(only_error(base() + "[dkim.domains.\"example.com\"]\nselectors = [ { name = \"a\", algorithm = \"rsa-sha1\" } ]\n"),
                HasSubstr("algorithm `rsa-sha1`; expected \"rsa\" or \"ed25519\""));
}

TEST(ConfigLoader, ChecksCanonicalizationAndMisc) {
    EXPECT_THAT(only_error(base() + "dkimBodyCanonicalization = \"loose\"\n"),
                HasSubstr("snm.toml:3:28: error: `dkimBodyCanonicalization` is `loose`; expected \"relaxed\" or \"simple\""));
    EXPECT_THAT(only_error(base() + "mailDirectory = \"vmail\"\n"), HasSubstr("must be an absolute path"));
    EXPECT_THAT(only_error(base() + "lmtpSaveToDetailMailbox = \"maybe\"\n"), HasSubstr("\"yes\", \"no\", true or false"));
    EXPECT_FALSE(load(base() + "lmtpSaveToDetailMailbox = \"no\"\n").config->lmtpSaveToDetailMailbox);
    EXPECT_THAT(only_error(base() + "recipientDelimiter = \"a\"\n"), HasSubstr("`recipientDelimiter` `a` contains `a`"));
    EXPECT_THAT(only_error("domains = [\"example.com\"]\n"), HasSubstr("`fqdn` is missing"));
}

TEST(ConfigLoader, ReadsAccountSettings) {
    auto loaded = load(base() + account_toml("User1@Example.com",
                                        "aliases = [\"info@example.com\", \"@example2.com\"]\n"
                                        "sendAs = [\"news@example.com\"]\n"
                                        "quota = \"2G\"\n"
                                        "sendOnly = true\n"
                                        "sendOnlyRejectMessage = \"No inbound mail here.\"\n"
                                        "aliasesRegexp = [\"/^tom\\\\..*@example\\\\.com$/\"]\n"));
    ASSERT_TRUE(loaded.config) << ::testing::PrintToString(errors(loaded));
    const auto& a = loaded.config->loginAccounts.at(0);
    EXPECT_EQ(a.address, "user1@example.com");
    EXPECT_EQ(a.aliases, (std::vector<std::string>{"info@example.com", "@example2.com"}));
    EXPECT_EQ(a.sendAs, (std::vector<std::string>{"news@example.com"}));
    EXPECT_TRUE(a.sendOnly);
    EXPECT_EQ(a.sendOnlyRejectMessage, "No inbound mail here.");
    EXPECT_EQ(a.aliasesRegexp.size(), 1u);
    EXPECT_THAT(only_error(base() + account_toml("user1@example.com", "aliasesRegexp = [\"/(unclosed/\"]\n")),
                HasSubstr("does not compile"));
}

TEST(ConfigLoader, RequiresAPassword) {
    EXPECT_THAT(only_error(base() + "[loginAccounts.\"user1@example.com\"]\nquota = \"1G\"\n"),
                HasSubstr("snm.toml:3:16: error: login account `user1@example.com` has no password"));
}

TEST(ConfigLoader, InternalNetworksAreCheckedByTheDaemonsParser) {
    EXPECT_EQ(only_error(base() + "[dkim]\ninternalNetworks = [\"10.0.0.0/8\", \"999.0.0.0/24\"]\n"),
              "snm.toml:4:35: error: `999.0.0.0/24` in `dkim.internalNetworks` is not an IP address or CIDR block; "
              "expected e.g. \"192.0.2.0/24\", \"2001:db8::/32\" or \"192.0.2.1\"");
    auto loaded = load(base() + "[dkim]\ninternalNetworks = [\"192.0.2.1\", \"2001:db8::/32\"]\n");
    ASSERT_TRUE(loaded.config);
    EXPECT_EQ(loaded.config->dkimInternalNetworks, (std::vector<std::string>{"192.0.2.1", "2001:db8::/32"}));
}

TEST(ConfigLoader, LoginThrottleHasSafeDefaultsAndChecksItsLimits) {
    auto defaults = load(base());
    ASSERT_TRUE(defaults.config);
    const auto& t = defaults.config->loginThrottle;
    EXPECT_TRUE(t.enable);
    EXPECT_EQ(t.maxFailures, 10u);
    EXPECT_EQ(t.findTime, 600u);
    EXPECT_EQ(t.banTime, 900u);
    EXPECT_TRUE(t.allowNetworks.empty());

    auto set = load(base() + "[loginThrottle]\nmaxFailures = 5\nallowNetworks = [\"198.51.100.0/24\"]\n");
    ASSERT_TRUE(set.config);
    EXPECT_EQ(set.config->loginThrottle.maxFailures, 5u);
    EXPECT_EQ(set.config->loginThrottle.allowNetworks, (std::vector<std::string>{"198.51.100.0/24"}));

    EXPECT_EQ(only_error(base() + "[loginThrottle]\nmaxFailure = 5\n"),
              "snm.toml:4:1: error: unknown option `maxFailure` in [loginThrottle]; did you mean `maxFailures`?");
    EXPECT_EQ(only_error(base() + "[loginThrottle]\nmaxFailures = 0\n"),
              "snm.toml:4:15: error: `loginThrottle.maxFailures` is 0; expected a value from 1 to 100000");
    EXPECT_THAT(only_error(base() + "[loginThrottle]\nbanTime = 7200\nmaxBanTime = 3600\n"),
                HasSubstr("`loginThrottle.banTime` (7200 s) is longer than `loginThrottle.maxBanTime` (3600 s)"));
}

TEST(ConfigLoader, SmtpdForbidBareNewlineIsOnUnlessTurnedOff) {
    auto defaults = load(base());
    ASSERT_TRUE(defaults.config);
    EXPECT_TRUE(defaults.config->smtpdForbidBareNewline);
    auto off = load("smtpdForbidBareNewline = false\n" + base());
    ASSERT_TRUE(off.config);
    EXPECT_FALSE(off.config->smtpdForbidBareNewline);
    EXPECT_THAT(only_error("smtpdForbidBareNewline = \"yes\"\n" + base()),
                HasSubstr("`smtpdForbidBareNewline` must be true or false"));
}

TEST(ConfigLoader, ClientRateLimitsHaveSafeDefaultsAndChecksTheirLimits) {
    auto defaults = load(base());
    ASSERT_TRUE(defaults.config);
    const auto& limits = defaults.config->clientRateLimits;
    EXPECT_EQ(limits.connections, 60u);
    EXPECT_EQ(limits.concurrentConnections, 20u);
    EXPECT_EQ(limits.messages, 100u);
    EXPECT_EQ(limits.auths, 30u);
    EXPECT_TRUE(limits.allowNetworks.empty());

    auto set = load(base() + "[clientRateLimits]\nmessages = 0\nallowNetworks = [\"2001:db8::/32\"]\n");
    ASSERT_TRUE(set.config);
    EXPECT_EQ(set.config->clientRateLimits.messages, 0u);
    EXPECT_EQ(set.config->clientRateLimits.allowNetworks, (std::vector<std::string>{"2001:db8::/32"}));

    EXPECT_EQ(only_error(base() + "[clientRateLimits]\nauth = 5\n"),
              "snm.toml:4:1: error: unknown option `auth` in [clientRateLimits]; did you mean `auths`?");
    EXPECT_EQ(only_error(base() + "[clientRateLimits]\nconnections = -1\n"),
              "snm.toml:4:15: error: `clientRateLimits.connections` is -1; expected a value from 0 to 100000");
    EXPECT_THAT(only_error(base() + "[clientRateLimits]\nallowNetworks = [\"10.0.0.300\"]\n"),
                HasSubstr("`10.0.0.300` in `clientRateLimits.allowNetworks` is not an IP address or CIDR block"));
    EXPECT_THAT(only_error(base() + "clientRateLimits = 5\n"), HasSubstr("`clientRateLimits` must be a table"));
}

TEST(ConfigLoader, DovecotLimitsHaveSnmsDefaultsAndChecksTheirRanges) {
    auto defaults = load(base());
    ASSERT_TRUE(defaults.config);
    const Config& c = *defaults.config;
    EXPECT_EQ(c.maxConnectionsPerUser, 100u);
    EXPECT_EQ(c.imapMemoryLimit, 256u);
    EXPECT_EQ(c.lmtpMemoryLimit, 256u);
    EXPECT_EQ(c.quotaStatusMemoryLimit, 256u);
    EXPECT_FALSE(c.useUTF8FolderNames);

    auto set = load(base() + "maxConnectionsPerUser = 20\nimapMemoryLimit = 1024\nlmtpMemoryLimit = 0\n"
                             "quotaStatusMemoryLimit = 16\nuseUTF8FolderNames = true\n");
    ASSERT_TRUE(set.config) << ::testing::PrintToString(errors(set));
    EXPECT_EQ(set.config->maxConnectionsPerUser, 20u);
    EXPECT_EQ(set.config->imapMemoryLimit, 1024u);
    EXPECT_EQ(set.config->lmtpMemoryLimit, 0u);
    EXPECT_EQ(set.config->quotaStatusMemoryLimit, 16u);
    EXPECT_TRUE(set.config->useUTF8FolderNames);

    EXPECT_EQ(only_error(base() + "maxConnectionsPerUser = 0\n"),
              "snm.toml:3:25: error: `maxConnectionsPerUser` is 0; expected a value from 1 to 100000");
    EXPECT_EQ(only_error(base() + "maxConnectionsPerUser = \"50\"\n"),
              "snm.toml:3:25: error: `maxConnectionsPerUser` must be an integer, not a string");
    EXPECT_EQ(only_error(base() + "imapMemoryLimit = 8\n"),
              "snm.toml:3:19: error: `imapMemoryLimit` is 8; expected 0 (no limit) or a size in MB from 16 to 1048576");
    EXPECT_EQ(only_error(base() + "lmtpMemoryLimit = -256\n"),
              "snm.toml:3:19: error: `lmtpMemoryLimit` is -256; expected 0 (no limit) or a size in MB from 16 to 1048576");
    EXPECT_EQ(only_error(base() + "quotaStatusMemoryLimit = \"256M\"\n"),
              "snm.toml:3:26: error: `quotaStatusMemoryLimit` must be an integer (MB), not a string");
    EXPECT_EQ(only_error(base() + "useUTF8FolderNames = 1\n"),
              "snm.toml:3:22: error: `useUTF8FolderNames` must be true or false, not an integer");
}

TEST(ConfigLoader, SendingFqdnDefaultsToFqdnAndMustBeAHostName) {
    auto defaults = load(base());
    ASSERT_TRUE(defaults.config);
    EXPECT_EQ(defaults.config->sendingFqdn, "mail.example.com");
    EXPECT_FALSE(defaults.config->rewriteMessageId);
    // Read before fqdn in the file or after, it is its own value.
    auto set = load("sendingFqdn = \"MyServer.Example.net\"\nrewriteMessageId = true\n" + base());
    ASSERT_TRUE(set.config) << ::testing::PrintToString(errors(set));
    EXPECT_EQ(set.config->sendingFqdn, "myserver.example.net");
    EXPECT_EQ(set.config->fqdn, "mail.example.com");
    EXPECT_TRUE(set.config->rewriteMessageId);

    EXPECT_EQ(only_error(base() + "sendingFqdn = \"bad name\"\n"),
              "snm.toml:3:15: error: `sendingFqdn` `bad name` is not a fully qualified host name; expected the name "
              "this server's address resolves to in reverse DNS, e.g. myserver.example.com");
    EXPECT_EQ(only_error(base() + "sendingFqdn = true\n"),
              "snm.toml:3:15: error: `sendingFqdn` must be a string, not a boolean");
    EXPECT_EQ(only_error(base() + "rewriteMessageId = \"yes\"\n"),
              "snm.toml:3:20: error: `rewriteMessageId` must be true or false, not a string");
}
