// Unit tests of option_parser.hpp: the command-line syntax every snm
// program shares — values in each form, flags, bundles, "--", --help and
// --version, and each usage error with its message and exit status 2.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "option_parser.hpp"

using namespace snm;
using testing::HasSubstr;
using testing::internal::CaptureStderr;
using testing::internal::CaptureStdout;
using testing::internal::GetCapturedStderr;
using testing::internal::GetCapturedStdout;

namespace {

constexpr const char* kUsage = "usage: snm-test --state DIR [-f] [ARG...]\n";

OptionParser parser(std::size_t max_positionals = kAnyNumberOfPositionals) {
    return OptionParser({.name = "snm-test",
                         .usage = kUsage,
                         .valued = {{"--state", "-s"}, {"--user"}},
                         .flags = {{"--foreground", "-f"}, {"--verbose", "-v"}},
                         .max_positionals = max_positionals});
}

// What parsing `args` printed and returned, for the cases that stop.
struct Stopped {
    std::optional<int> status;
    std::string out;
    std::string err;
};

Stopped parse_stopping(OptionParser& options, const std::vector<std::string>& args) {
    CaptureStdout();
    CaptureStderr();
    Stopped stopped;
    stopped.status = options.parse(args);
    stopped.out = GetCapturedStdout();
    stopped.err = GetCapturedStderr();
    return stopped;
}

// The usage error parsing `args` ends in: its status 2, its first line.
std::string usage_error_of(const std::vector<std::string>& args, std::size_t max_positionals = kAnyNumberOfPositionals) {
    auto options = parser(max_positionals);
    const auto stopped = parse_stopping(options, args);
    EXPECT_EQ(stopped.status, kExitUsage);
    EXPECT_EQ(stopped.out, "");
    EXPECT_THAT(stopped.err, testing::EndsWith("\n" + std::string(kUsage)));
    return stopped.err.substr(0, stopped.err.find('\n'));
}

}  // namespace

TEST(OptionParser, AValueFollowsTheOptionOrAnEqualsSignInAnyForm) {
    for (const auto& args : std::vector<std::vector<std::string>>{
             {"--state", "/var/lib/snm"}, {"--state=/var/lib/snm"}, {"-s", "/var/lib/snm"}, {"-s/var/lib/snm"}}) {
        auto options = parser();
        EXPECT_EQ(options.parse(args), std::nullopt);
        EXPECT_EQ(options.value("--state"), "/var/lib/snm") << args.front();
        EXPECT_TRUE(options.positionals().empty());
    }
}

TEST(OptionParser, AValueMayStartWithADashOrBeEmpty) {
    auto options = parser();
    EXPECT_EQ(options.parse({"--state", "-f", "--user="}), std::nullopt);
    EXPECT_EQ(options.value("--state"), "-f");
    EXPECT_EQ(options.value("--user"), "");
    EXPECT_FALSE(options.flag("--foreground"));
}

TEST(OptionParser, UnsetOptionsHaveNoValueAndTheLastOfARepeatedOneWins) {
    auto options = parser();
    EXPECT_EQ(options.parse({"--user", "a", "--user", "b"}), std::nullopt);
    EXPECT_EQ(options.value("--user"), "b");
    EXPECT_EQ(options.value("--state"), std::nullopt);
    EXPECT_FALSE(options.flag("--verbose"));
}

TEST(OptionParser, FlagsByEitherNameAndBundled) {
    auto one = parser();
    EXPECT_EQ(one.parse({"-f", "--verbose"}), std::nullopt);
    EXPECT_TRUE(one.flag("--foreground"));
    EXPECT_TRUE(one.flag("--verbose"));
    auto bundled = parser();
    EXPECT_EQ(bundled.parse({"-fvs", "DIR"}), std::nullopt);
    EXPECT_TRUE(bundled.flag("--foreground"));
    EXPECT_TRUE(bundled.flag("--verbose"));
    EXPECT_EQ(bundled.value("--state"), "DIR");
}

TEST(OptionParser, PositionalsInAnyPlaceAndAfterDoubleDash) {
    auto options = parser();
    EXPECT_EQ(options.parse({"spam", "-f", "-", "--state", "S", "user", "--", "--verbose", "-x"}), std::nullopt);
    EXPECT_EQ(options.positionals(), (std::vector<std::string>{"spam", "-", "user", "--verbose", "-x"}));
    EXPECT_TRUE(options.flag("--foreground"));
    EXPECT_FALSE(options.flag("--verbose"));
}

TEST(OptionParser, HelpPrintsTheUsageOnStdoutAndStops) {
    for (const std::string help : {"--help", "-h"}) {
        auto options = parser();
        const auto stopped = parse_stopping(options, {"-f", help, "--bogus"});
        EXPECT_EQ(stopped.status, kExitOk);
        EXPECT_EQ(stopped.out, kUsage);
        EXPECT_EQ(stopped.err, "");
    }
}

TEST(OptionParser, VersionPrintsTheProgramAndItsVersion) {
    for (const std::string version : {"--version", "-V"}) {
        auto options = parser();
        const auto stopped = parse_stopping(options, {version});
        EXPECT_EQ(stopped.status, kExitOk);
        EXPECT_EQ(stopped.out, std::string("snm-test ") + SNM_VERSION + "\n");
        EXPECT_EQ(stopped.err, "");
    }
}

TEST(OptionParser, ASubcommandsVersionNamesTheProgram) {
    OptionParser options({.name = "snmctl check", .usage = "usage: snmctl check -c FILE\n"});
    const auto stopped = parse_stopping(options, {"--version"});
    EXPECT_EQ(stopped.out, std::string("snmctl ") + SNM_VERSION + "\n");
}

TEST(OptionParser, AnUnknownOptionIsAUsageErrorNamingIt) {
    EXPECT_EQ(usage_error_of({"--bogus"}), "snm-test: unknown option --bogus");
    EXPECT_EQ(usage_error_of({"--bogus=1"}), "snm-test: unknown option --bogus");
    EXPECT_EQ(usage_error_of({"-x"}), "snm-test: unknown option -x");
    EXPECT_EQ(usage_error_of({"-fx"}), "snm-test: unknown option -x in -fx");
    // No abbreviations: a prefix of a long name is not that option.
    EXPECT_EQ(usage_error_of({"--stat", "DIR"}), "snm-test: unknown option --stat");
}

TEST(OptionParser, AMissingValueIsAUsageErrorNamingTheOption) {
    EXPECT_EQ(usage_error_of({"-f", "--state"}), "snm-test: option --state needs a value");
    EXPECT_EQ(usage_error_of({"-fs"}), "snm-test: option -s needs a value");
}

TEST(OptionParser, AValueForAFlagIsAUsageError) {
    EXPECT_EQ(usage_error_of({"--foreground=yes"}), "snm-test: option --foreground takes no value");
    EXPECT_EQ(usage_error_of({"--help=me"}), "snm-test: option --help takes no value");
}

TEST(OptionParser, TooManyPositionalsIsAUsageErrorNamingTheFirstExtra) {
    EXPECT_EQ(usage_error_of({"extra"}, 0), "snm-test: unexpected argument `extra`");
    EXPECT_EQ(usage_error_of({"up", "-f", "more", "most"}, 1), "snm-test: unexpected argument `more`");
    auto options = parser(1);
    EXPECT_EQ(options.parse({"up"}), std::nullopt);
}

TEST(OptionParser, AnErrorBeforeHelpWins) {
    EXPECT_EQ(usage_error_of({"--bogus", "--help"}), "snm-test: unknown option --bogus");
}

TEST(OptionParser, UsageErrorsFoundLaterLookTheSame) {
    auto options = parser();
    CaptureStderr();
    EXPECT_EQ(options.usage_error("--state is required"), kExitUsage);
    EXPECT_EQ(GetCapturedStderr(), std::string("snm-test: --state is required\n") + kUsage);
}
