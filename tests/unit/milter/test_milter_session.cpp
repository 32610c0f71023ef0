// MilterSession fed packet by packet as Postfix sends them: what it
// negotiates, which events it answers, its signing decisions, the on-error
// answers, and reloads that keep the old keys when the new ones are broken.
#include <sys/stat.h>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "key_fixture.hpp"
#include "log.hpp"
#include "milter_protocol.hpp"
#include "milter_session.hpp"

using namespace snm;
using namespace snm::milter;
using ::testing::ElementsAre;
using snm::milter::testing::KeyDirectory;

namespace {

constexpr std::uint32_t kPostfixOffer = 0x1FFFFF;  // every step flag of protocol 6

struct Reply {
    char command;
    std::string data;
};

std::vector<Reply> split(const std::string& replies) {
    std::vector<Reply> out;
    for (std::size_t at = 0; at + 5 <= replies.size();) {
        const auto length = proto::read_u32(replies.data() + at);
        out.push_back({replies[at + 4], replies.substr(at + 5, length - 1)});
        at += 4 + length;
    }
    return out;
}

std::string commands(const std::vector<Reply>& replies) {
    std::string out;
    for (const auto& r : replies) out += r.command;
    return out;
}

std::string z(std::initializer_list<std::string_view> parts) {
    std::string out;
    for (auto p : parts) out.append(p).push_back('\0');
    return out;
}

class SessionTest : public ::testing::Test {
protected:
    void SetUp() override {
        log_open("test", LogTarget::Stderr);
        keys.apply();
    }

    // Runs `command` and returns the reply packets it produced.
    std::vector<Reply> send(MilterSession& session, char command, const std::string& data = {}) {
        std::string replies;
        EXPECT_EQ(session.handle(command, data, replies), MilterSession::Next::Continue);
        return split(replies);
    }

    std::vector<Reply> negotiate(MilterSession& session, std::uint32_t offer = kPostfixOffer) {
        std::string data;
        proto::append_u32(data, 6);
        proto::append_u32(data, 0x1FF);
        proto::append_u32(data, offer);
        return send(session, proto::kNegotiate, data);
    }

    std::vector<Reply> message(MilterSession& session, const std::string& from, const std::string& auth,
                               const std::string& address = "192.0.2.10", unsigned port = 4711) {
        std::string connect = z({"client.example"});
        connect += proto::kFamilyInet;
        connect += static_cast<char>(port >> 8);
        connect += static_cast<char>(port & 0xff);
        connect += z({address});
        std::vector<Reply> all;
        const auto add = [&](std::vector<Reply> r) { all.insert(all.end(), r.begin(), r.end()); };
        add(send(session, proto::kConnect, connect));
        add(send(session, proto::kMacro, "M" + (auth.empty() ? z({"i", "QID"}) : z({"i", "QID", "{auth_authen}", auth}))));
        add(send(session, proto::kMail, z({"<a@example.com>"})));
        if (!from.empty()) add(send(session, proto::kHeader, z({"From", from})));
        add(send(session, proto::kHeader, z({"Subject", " hi"})));
        add(send(session, proto::kBody, "body\r\n"));
        add(send(session, proto::kEndOfBody));
        return all;
    }

    KeyDirectory keys;
};

}  // namespace

TEST_F(SessionTest, NegotiatesAwayEverythingTheSignerDoesNotNeed) {
    KeyStore store(keys.snapshot());
    MilterSession session(store);
    const auto replies = negotiate(session);
    ASSERT_EQ(commands(replies), "O");
    const auto& data = replies[0].data;
    EXPECT_EQ(proto::read_u32(data.data()), 6u);
    EXPECT_EQ(proto::read_u32(data.data() + 4), proto::kActionAddHeaders | proto::kActionSetMacroList);
    const auto steps = proto::read_u32(data.data() + 8);
    for (auto flag : {proto::kNoHelo, proto::kNoRecipient, proto::kNoData, proto::kNoUnknown, proto::kNoEndOfHeaders,
                      proto::kNoReplyConnect, proto::kNoReplyMail, proto::kNoReplyHeader, proto::kNoReplyBody,
                      proto::kHeaderLeadingSpace})
        EXPECT_TRUE(steps & flag) << std::hex << flag;
    EXPECT_FALSE(steps & (proto::kNoConnect | proto::kNoMail | proto::kNoHeaders | proto::kNoBody));
    EXPECT_NE(data.find(std::string("{auth_authen} i\0", 16)), std::string::npos);
}

TEST_F(SessionTest, AuthenticatedMailGetsOneSignaturePerSelectorInOneReplyBatch) {
    KeyStore store(keys.snapshot());
    MilterSession session(store);
    negotiate(session);
    const auto replies = message(session, " <user@example.com>", "user@example.com");
    ASSERT_EQ(commands(replies), "iic");
    for (const auto& r : {replies[0], replies[1]}) {
        EXPECT_EQ(proto::read_u32(r.data.data()), 0u);  // inserted at the top
        EXPECT_EQ(r.data.substr(4, 15), std::string("DKIM-Signature\0", 15));
        EXPECT_EQ(r.data[19], ' ');                                 // the leading space is ours (HDR_LEADSPC)
        EXPECT_EQ(r.data.find('\r'), std::string::npos);            // folded with LF for the MTA
    }
    EXPECT_TRUE(session.idle());
}

TEST_F(SessionTest, WithoutNoReplyFlagsEveryEventIsAnswered) {
    KeyStore store(keys.snapshot());
    MilterSession session(store);
    negotiate(session, 0);  // an MTA offering no protocol extensions
    const auto replies = message(session, " <user@example.com>", "user@example.com");
    EXPECT_EQ(commands(replies), "ccccciic");  // connect, mail, 2 headers, body, then EOM
}

TEST_F(SessionTest, UnsignedCasesPassWithContinue) {
    KeyStore store(keys.snapshot());
    MilterSession session(store);
    negotiate(session);
    EXPECT_EQ(commands(message(session, " <user@example.com>", "")), "c");                  // not authenticated
    EXPECT_EQ(commands(message(session, " <user@elsewhere.example>", "u@example.com")), "c");  // foreign domain
    EXPECT_EQ(commands(message(session, "", "u@example.com")), "c");                         // no From
    EXPECT_EQ(commands(message(session, " <user@example.com>", "", "10.1.2.3")), "iic");      // internal network
    EXPECT_EQ(commands(message(session, " <user@example.com>", "", "127.0.0.1", 0)), "c");    // not "localhost"
}

TEST_F(SessionTest, TwoFromHeadersAreNotSigned) {
    KeyStore store(keys.snapshot());
    MilterSession session(store);
    negotiate(session);
    send(session, proto::kMacro, "M" + z({"{auth_authen}", "u@example.com"}));
    send(session, proto::kMail, z({"<a@example.com>"}));
    send(session, proto::kHeader, z({"From", " <a@example.com>"}));
    send(session, proto::kHeader, z({"From", " <b@example.com>"}));
    EXPECT_EQ(commands(send(session, proto::kEndOfBody)), "c");
}

TEST_F(SessionTest, AbortForgetsTheMessage) {
    KeyStore store(keys.snapshot());
    MilterSession session(store);
    negotiate(session);
    send(session, proto::kMacro, "M" + z({"{auth_authen}", "u@example.com"}));
    send(session, proto::kMail, z({"<a@example.com>"}));
    send(session, proto::kHeader, z({"From", " <a@example.com>"}));
    send(session, proto::kAbort);
    EXPECT_TRUE(session.idle());
    send(session, proto::kMail, z({"<a@example.com>"}));
    send(session, proto::kHeader, z({"From", " <a@example.com>"}));
    EXPECT_EQ(commands(send(session, proto::kEndOfBody)), "c");  // the earlier authentication is gone
}

TEST_F(SessionTest, UnusableKeyTempfailsByDefault) {
    ::chmod(keys.key("example.com", "ed").c_str(), 0644);
    KeyStore store(keys.snapshot());
    MilterSession session(store);
    negotiate(session);
    EXPECT_EQ(commands(message(session, " <user@example.com>", "user@example.com")), "t");
    // Another domain whose keys are fine still signs.
    EXPECT_EQ(commands(message(session, " <user@example.net>", "user@example.com")), "ic");
}

TEST_F(SessionTest, UnusableKeyPassesUnsignedWhenOnErrorIsAccept) {
    keys.config.dkimOnError = DkimOnError::Accept;
    keys.apply();
    ::chmod(keys.key("example.com", "ed").c_str(), 0644);
    KeyStore store(keys.snapshot());
    MilterSession session(store);
    negotiate(session);
    EXPECT_EQ(commands(message(session, " <user@example.com>", "user@example.com")), "c");
}

TEST_F(SessionTest, MissingSnapshotTempfails) {
    KeyStore store(keys.dir() + "/nowhere/dkim.cdb");
    MilterSession session(store);
    negotiate(session);
    EXPECT_EQ(commands(message(session, " <user@example.com>", "user@example.com")), "t");
}

TEST_F(SessionTest, ReloadTakesNewSelectorsAndKeepsOldKeysWhenNewOnesAreBroken) {
    KeyStore store(keys.snapshot());
    MilterSession session(store);
    negotiate(session);
    EXPECT_EQ(commands(message(session, " <user@example.com>", "u@example.com")), "iic");

    // A third selector: taken on reload.
    keys.config.dkimDomains[0].selectors.push_back(keys.selector("new", DkimAlgorithm::Ed25519, 0, "example.com"));
    keys.apply();
    store.request_reload();
    EXPECT_EQ(commands(message(session, " <user@example.com>", "u@example.com")), "iiic");

    // A broken key in the next snapshot: the previous keys stay in force.
    ::chmod(keys.key("example.com", "new").c_str(), 0644);
    keys.config.domains.push_back("example.org");
    keys.apply();
    store.request_reload();
    EXPECT_EQ(commands(message(session, " <user@example.com>", "u@example.com")), "iiic");
    EXPECT_EQ(commands(message(session, " <user@example.org>", "u@example.com")), "c");  // not in the kept set
}

// The queue id of the log lines comes from the `i` macro, sent with MAIL
// (when Postfix has opened the queue file by then) and again at the end of
// the message; the packet it arrived in is gone by the time the line is
// written (the server reuses its read buffer).
TEST_F(SessionTest, LogLinesShowTheQueueIdOfTheMacroPackets) {
    KeyStore store(keys.snapshot());
    MilterSession session(store);
    negotiate(session);
    const std::string long_id = "4Xw9Zs2kfNz9vNqT1mYbJ";  // enable_long_queue_ids: longer than std::string's SSO
    const auto run = [&](const std::string& mail_id, const std::string& end_id, const std::string& from) {
        ::testing::internal::CaptureStderr();
        {
            std::string packet = "M" + z({"i", mail_id, "{auth_authen}", "u@example.com"});
            send(session, proto::kMacro, packet);
            packet.assign(packet.size(), '\xff');  // the buffer reused
        }
        send(session, proto::kMail, z({"<a@example.com>"}));
        send(session, proto::kHeader, z({"From", from}));
        send(session, proto::kBody, "body\r\n");
        if (!end_id.empty()) send(session, proto::kMacro, "E" + z({"i", end_id}));
        send(session, proto::kEndOfBody);
        return ::testing::internal::GetCapturedStderr();
    };
    EXPECT_THAT(run(long_id, "", " <user@example.com>"),
                ::testing::HasSubstr(": " + long_id + ": signed d=example.com s="));
    EXPECT_THAT(run("", long_id, " <user@example.com>"), ::testing::HasSubstr(": " + long_id + ": signed "));
    EXPECT_THAT(run("9DAF4A863A3", "9DAF4A863A3", " <user@elsewhere.example>"),
                ::testing::HasSubstr(": 9DAF4A863A3: not signed: From domain elsewhere.example"));
}
