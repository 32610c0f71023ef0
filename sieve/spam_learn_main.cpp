// spam_learn_main.cpp — snm-spam-learn: teaches rspamd's Bayes classifier by
// hand or in bulk, with the same controller client the Pigeonhole plugin
// uses (controller_client.hpp).
//
//   snm-spam-learn [OPTIONS] spam|ham [USER] [MAILDIR...]
//
// Without MAILDIR one message is read from stdin. USER (no "/" in it) is
// sent as Deliver-To, rspamd's key for per-user statistics. A MAILDIR is a
// maildir folder (cur/ and new/ are read). Prints one summary line:
//   snm-spam-learn: 12 messages: 10 learned as spam, 1 already learned, 1 failed
// and each failure on stderr. Exit status: 0 when nothing failed, 1 when a
// message failed, 2 for a usage error, 75 (EX_TEMPFAIL) when every failure
// was temporary (rspamd down or slow: try again later).
#include <fmt/format.h>

#include <cstdio>
#include <filesystem>
#include <iostream>
#include <string>
#include <vector>

#include "controller_client.hpp"
#include "maildir_folder.hpp"
#include "option_parser.hpp"

namespace {

namespace fs = std::filesystem;
using namespace snm::sieve;

using snm::kExitFailure;
using snm::kExitOk;
using snm::kExitUsage;
constexpr int kExitTempFail = 75;  // sysexits.h EX_TEMPFAIL
// rspamd's stock controller listener, used when --controller is not given.
constexpr const char* kDefaultController = "inet:127.0.0.1:11334";

std::string usage() {
    return fmt::format(
        "usage: snm-spam-learn [OPTIONS] spam|ham [USER] [MAILDIR...]\n\n"
        "Teaches rspamd the messages of maildir folders, or one message from stdin.\n"
        "USER (no \"/\" in it, not a directory) is sent as Deliver-To for per-user statistics.\n\n"
        "  -c, --controller SPEC      rspamd controller, unix:PATH or inet:HOST:PORT (default {})\n"
        "  -p, --password-file FILE   file holding the controller password (first line)\n"
        "  -t, --timeout DURATION     limit per message, e.g. 500ms, 5s (default {} ms)\n"
        "  -h, --help                 this text\n"
        "  -V, --version              the version\n",
        kDefaultController, kDefaultControllerTimeout.count());
}

struct Tally {
    unsigned learned = 0;
    unsigned already = 0;
    unsigned failed = 0;
    unsigned temporary_failures = 0;

    void count(const snm::Result<LearnOutcome>& outcome, std::string_view source) {
        if (outcome) {
            (*outcome == LearnOutcome::Learned ? learned : already)++;
            return;
        }
        ++failed;
        if (outcome.error().temporary) ++temporary_failures;
        fmt::print(stderr, "snm-spam-learn: {}: {}\n", source, outcome.error().message);
    }
};

}  // namespace

int main(int argc, char** argv) {
    snm::OptionParser options({.name = "snm-spam-learn",
                               .usage = usage(),
                               .valued = {{"--controller", "-c"}, {"--password-file", "-p"}, {"--timeout", "-t"}},
                               .max_positionals = snm::kAnyNumberOfPositionals});
    if (auto status = options.parse(std::vector<std::string>(argv + 1, argv + argc))) return *status;
    std::vector<std::string> args = options.positionals();
    const auto message_class = args.empty() ? std::nullopt : parse_message_class(args.front());
    if (!message_class) return options.usage_error("the first argument must be spam or ham");
    args.erase(args.begin());
    std::string user;
    if (!args.empty() && args.front().find('/') == std::string::npos && !fs::is_directory(args.front())) {
        user = args.front();
        args.erase(args.begin());
    }

    auto settings = make_controller_settings(options.value("--controller").value_or(kDefaultController),
                                             options.value("--password-file").value_or(""),
                                             options.value("--timeout").value_or(""));
    if (!settings) {
        fmt::print(stderr, "snm-spam-learn: {}\n", settings.error().message);
        return kExitUsage;
    }

    Tally tally;
    if (args.empty()) {
        auto message = read_message(std::cin, "stdin", kMaxMessageBytes);
        tally.count(message ? learn_message(*settings, *message_class, *message, user)
                            : snm::Result<LearnOutcome>(message.error()),
                    "stdin");
    }
    for (const auto& folder : args) {
        auto messages = maildir_messages(folder);
        if (!messages) {
            fmt::print(stderr, "snm-spam-learn: {}\n", messages.error().message);
            return kExitUsage;
        }
        for (const auto& path : *messages) {
            auto message = read_message_file(path, kMaxMessageBytes);
            if (!message) {
                tally.count(snm::Result<LearnOutcome>(message.error()), path.string());
                continue;
            }
            tally.count(learn_message(*settings, *message_class, *message, user), path.string());
        }
    }

    const unsigned total = tally.learned + tally.already + tally.failed;
    fmt::print("snm-spam-learn: {} message{}: {} learned as {}, {} already learned, {} failed\n", total,
               total == 1 ? "" : "s", tally.learned, message_class_name(*message_class), tally.already, tally.failed);
    if (tally.failed == 0) return kExitOk;
    return tally.temporary_failures == tally.failed ? kExitTempFail : kExitFailure;
}
