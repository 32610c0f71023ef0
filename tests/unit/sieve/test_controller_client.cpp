// Unit tests of the rspamd controller client (controller_client.hpp) and its
// C bridge (learn_bridge.h), against a small HTTP server the test runs on a
// unix socket in a temporary directory or on 127.0.0.1 (a port the kernel
// picks). The server records each request and answers as each test scripts.
#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "controller_client.hpp"
#include "learn_bridge.h"

namespace {

using namespace snm::sieve;
using namespace std::chrono_literals;

// How the test server answers one connection.
struct Script {
    std::string reply;             // sent after the whole request was read
    bool stall = false;            // read the request, then never answer
    bool close_at_once = false;    // close without reading or answering
};

struct Request {
    std::string head;  // request line and headers
    std::string body;
};

class TestServer {
public:
    enum class Transport { Unix, Inet };

    explicit TestServer(Transport transport) {
        if (transport == Transport::Unix) {
            char pattern[] = "/tmp/snm-sieve-test-XXXXXX";
            dir_ = ::mkdtemp(pattern);
            const auto path = dir_ + "/controller.sock";
            listener_ = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
            sockaddr_un un{};
            un.sun_family = AF_UNIX;
            std::snprintf(un.sun_path, sizeof un.sun_path, "%s", path.c_str());
            EXPECT_EQ(::bind(listener_, reinterpret_cast<sockaddr*>(&un), sizeof un), 0);
            spec_ = "unix:" + path;
        } else {
            listener_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
            sockaddr_in in{};
            in.sin_family = AF_INET;
            in.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
            EXPECT_EQ(::bind(listener_, reinterpret_cast<sockaddr*>(&in), sizeof in), 0);
            socklen_t length = sizeof in;
            ::getsockname(listener_, reinterpret_cast<sockaddr*>(&in), &length);
            spec_ = "inet:127.0.0.1:" + std::to_string(ntohs(in.sin_port));
        }
        EXPECT_EQ(::listen(listener_, 8), 0);
        EXPECT_EQ(::pipe2(stop_pipe_, O_CLOEXEC), 0);
    }

    ~TestServer() {
        char byte = 0;
        (void)!::write(stop_pipe_[1], &byte, 1);
        if (thread_.joinable()) thread_.join();
        ::close(listener_);
        ::close(stop_pipe_[0]);
        ::close(stop_pipe_[1]);
        if (!dir_.empty()) std::filesystem::remove_all(dir_);
    }

    const std::string& spec() const { return spec_; }

    // Serves one connection per script, in order, on a thread.
    void serve(std::vector<Script> scripts) {
        thread_ = std::thread([this, scripts = std::move(scripts)] {
            for (const auto& script : scripts) {
                if (!wait_readable(listener_)) return;
                const int fd = ::accept4(listener_, nullptr, nullptr, SOCK_CLOEXEC);
                if (fd < 0) return;
                handle(fd, script);
                ::close(fd);
            }
        });
    }

    std::vector<Request> requests() {
        std::lock_guard lock(mutex_);
        return requests_;
    }

private:
    // False when the test asked the server to stop.
    bool wait_readable(int fd) {
        pollfd fds[2] = {{fd, POLLIN, 0}, {stop_pipe_[0], POLLIN, 0}};
        for (;;) {
            if (::poll(fds, 2, -1) < 0) return false;
            if (fds[1].revents) return false;
            if (fds[0].revents) return true;
        }
    }

    void handle(int fd, const Script& script) {
        if (script.close_at_once) return;
        std::string received;
        std::size_t body_start = std::string::npos;
        std::size_t content_length = 0;
        char buffer[65536];
        while (body_start == std::string::npos || received.size() < body_start + content_length) {
            if (!wait_readable(fd)) return;
            const ssize_t n = ::read(fd, buffer, sizeof buffer);
            if (n <= 0) return;
            received.append(buffer, static_cast<std::size_t>(n));
            if (body_start == std::string::npos) {
                const auto end = received.find("\r\n\r\n");
                if (end == std::string::npos) continue;
                body_start = end + 4;
                const auto at = received.find("Content-Length: ");
                if (at != std::string::npos && at < end) content_length = std::stoul(received.substr(at + 16));
            }
        }
        {
            std::lock_guard lock(mutex_);
            requests_.push_back({received.substr(0, body_start), received.substr(body_start)});
        }
        if (script.stall) {
            wait_readable(stop_pipe_[0]);
            return;
        }
        std::string_view reply = script.reply;
        while (!reply.empty()) {
            const ssize_t n = ::send(fd, reply.data(), reply.size(), MSG_NOSIGNAL);
            if (n <= 0) return;
            reply.remove_prefix(static_cast<std::size_t>(n));
        }
    }

    std::string dir_;
    std::string spec_;
    int listener_ = -1;
    int stop_pipe_[2] = {-1, -1};
    std::thread thread_;
    std::mutex mutex_;
    std::vector<Request> requests_;
};

std::string json_reply(int status, std::string_view reason, std::string_view body) {
    return "HTTP/1.1 " + std::to_string(status) + " " + std::string(reason) +
           "\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: " +
           std::to_string(body.size()) + "\r\n\r\n" + std::string(body);
}

const std::string kSuccess = json_reply(200, "OK", R"({"success":true})");
const std::string kMessage =
    "From: a@example.org\r\nTo: b@example.org\r\nSubject: test\r\n\r\nbody of the message\r\n";

ControllerSettings settings_for(const TestServer& server, std::string password = "",
                                std::chrono::milliseconds timeout = kDefaultControllerTimeout) {
    auto settings = make_controller_settings(server.spec(), "", "");
    EXPECT_TRUE(settings.ok());
    settings->password = std::move(password);
    settings->timeout = timeout;
    return *settings;
}

TEST(ControllerClient, LearnsSpamOverUnixSocketWithPassword) {
    TestServer server(TestServer::Transport::Unix);
    server.serve({{kSuccess}});
    auto outcome = learn_message(settings_for(server, "s3cret"), MessageClass::Spam, kMessage, "alice@example.org");
    ASSERT_TRUE(outcome.ok()) << outcome.error().message;
    EXPECT_EQ(*outcome, LearnOutcome::Learned);
    const auto requests = server.requests();
    ASSERT_EQ(requests.size(), 1u);
    EXPECT_TRUE(requests[0].head.starts_with("POST /learnspam HTTP/1.1\r\n")) << requests[0].head;
    EXPECT_NE(requests[0].head.find("\r\nPassword: s3cret\r\n"), std::string::npos);
    EXPECT_NE(requests[0].head.find("\r\nDeliver-To: alice@example.org\r\n"), std::string::npos);
    EXPECT_NE(requests[0].head.find("\r\nContent-Length: " + std::to_string(kMessage.size()) + "\r\n"),
              std::string::npos);
    EXPECT_EQ(requests[0].body, kMessage);
}

TEST(ControllerClient, LearnsHamOverTcpWithoutPasswordHeaderWhenNoneIsSet) {
    TestServer server(TestServer::Transport::Inet);
    server.serve({{kSuccess}});
    auto outcome = learn_message(settings_for(server), MessageClass::Ham, kMessage);
    ASSERT_TRUE(outcome.ok()) << outcome.error().message;
    EXPECT_EQ(*outcome, LearnOutcome::Learned);
    const auto requests = server.requests();
    ASSERT_EQ(requests.size(), 1u);
    EXPECT_TRUE(requests[0].head.starts_with("POST /learnham HTTP/1.1\r\n"));
    EXPECT_EQ(requests[0].head.find("Password:"), std::string::npos);
    EXPECT_EQ(requests[0].head.find("Deliver-To:"), std::string::npos);
}

TEST(ControllerClient, AlreadyLearnedIsSuccess) {
    TestServer server(TestServer::Transport::Unix);
    server.serve({{json_reply(208, "Already Reported", R"({"error":"<x@y> has been already learned as spam, ignore it"})")},
                  {json_reply(404, "Not Found", R"({"error":"<x@y> has been already learned as spam, ignore it"})")}});
    for (int i = 0; i < 2; ++i) {
        auto outcome = learn_message(settings_for(server), MessageClass::Spam, kMessage);
        ASSERT_TRUE(outcome.ok()) << outcome.error().message;
        EXPECT_EQ(*outcome, LearnOutcome::AlreadyLearned);
    }
}

TEST(ControllerClient, RefusedPasswordIsAPermanentErrorNamingThePassword) {
    TestServer server(TestServer::Transport::Inet);
    server.serve({{json_reply(403, "Forbidden", R"({"error":"Unauthorized"})")}});
    auto outcome = learn_message(settings_for(server, "wrong"), MessageClass::Spam, kMessage);
    ASSERT_FALSE(outcome.ok());
    EXPECT_FALSE(outcome.error().temporary);
    EXPECT_NE(outcome.error().message.find("HTTP 403: Unauthorized"), std::string::npos) << outcome.error().message;
    EXPECT_NE(outcome.error().message.find("password"), std::string::npos);
}

TEST(ControllerClient, DeclinedMessageIsAPermanentErrorWithRspamdsReason) {
    TestServer server(TestServer::Transport::Unix);
    server.serve({{json_reply(204, "No Content", R"({"error":"<x@y> contains less tokens than required"})")}});
    auto outcome = learn_message(settings_for(server), MessageClass::Ham, kMessage);
    ASSERT_FALSE(outcome.ok());
    EXPECT_FALSE(outcome.error().temporary);
    EXPECT_NE(outcome.error().message.find("contains less tokens than required"), std::string::npos);
}

TEST(ControllerClient, ServerErrorIsTemporary) {
    TestServer server(TestServer::Transport::Unix);
    server.serve({{json_reply(500, "Internal Server Error", R"({"error":"redis \"down\""})")}});
    auto outcome = learn_message(settings_for(server), MessageClass::Spam, kMessage);
    ASSERT_FALSE(outcome.ok());
    EXPECT_TRUE(outcome.error().temporary);
    EXPECT_NE(outcome.error().message.find("HTTP 500: redis \"down\""), std::string::npos) << outcome.error().message;
}

TEST(ControllerClient, Success200WithoutSuccessFieldIsAnError) {
    TestServer server(TestServer::Transport::Unix);
    server.serve({{json_reply(200, "OK", R"({"success":false})")}});
    EXPECT_FALSE(learn_message(settings_for(server), MessageClass::Spam, kMessage).ok());
}

TEST(ControllerClient, SilentServerTimesOut) {
    TestServer server(TestServer::Transport::Inet);
    server.serve({{.reply = "", .stall = true}});
    auto outcome = learn_message(settings_for(server, "", 200ms), MessageClass::Spam, kMessage);
    ASSERT_FALSE(outcome.ok());
    EXPECT_TRUE(outcome.error().temporary);
    EXPECT_NE(outcome.error().message.find("timed out after 200 ms"), std::string::npos) << outcome.error().message;
}

const Script kCloseAtOnce{.reply = "", .stall = false, .close_at_once = true};

TEST(ControllerClient, ConnectionClosedWithoutReplyIsRetriedOnce) {
    TestServer server(TestServer::Transport::Unix);
    server.serve({kCloseAtOnce, {kSuccess}});
    auto outcome = learn_message(settings_for(server), MessageClass::Spam, kMessage);
    ASSERT_TRUE(outcome.ok()) << outcome.error().message;
    EXPECT_EQ(*outcome, LearnOutcome::Learned);
    EXPECT_EQ(server.requests().size(), 1u);  // the first connection was closed unread
}

TEST(ControllerClient, ConnectionClosedWithoutReplyTwiceIsATemporaryError) {
    TestServer server(TestServer::Transport::Inet);
    server.serve({kCloseAtOnce, kCloseAtOnce, {kSuccess}});
    auto outcome = learn_message(settings_for(server), MessageClass::Spam, kMessage);
    ASSERT_FALSE(outcome.ok());
    EXPECT_TRUE(outcome.error().temporary);
    EXPECT_NE(outcome.error().message.find("closed the connection without a reply (2 attempts)"), std::string::npos)
        << outcome.error().message;
}

TEST(ControllerClient, ReplyCutShortIsAnErrorNotRetried) {
    TestServer server(TestServer::Transport::Unix);
    server.serve({{"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n{\"succ"}, {kSuccess}});
    auto outcome = learn_message(settings_for(server), MessageClass::Spam, kMessage);
    ASSERT_FALSE(outcome.ok());
    EXPECT_NE(outcome.error().message.find("truncated"), std::string::npos) << outcome.error().message;
    EXPECT_EQ(server.requests().size(), 1u);
}

TEST(ControllerClient, OversizedReplyIsRefused) {
    TestServer server(TestServer::Transport::Unix);
    server.serve({{"HTTP/1.1 200 OK\r\nContent-Length: " + std::to_string(2 * kMaxReplyBytes) + "\r\n\r\n" +
                   std::string(2 * kMaxReplyBytes, 'x')}});
    auto outcome = learn_message(settings_for(server), MessageClass::Spam, kMessage);
    ASSERT_FALSE(outcome.ok());
    EXPECT_NE(outcome.error().message.find("larger than"), std::string::npos) << outcome.error().message;
}

TEST(ControllerClient, NobodyListeningIsATemporaryConnectError) {
    std::string spec;
    {
        TestServer server(TestServer::Transport::Inet);  // bound, then closed: the port is free again
        spec = server.spec();
    }
    auto settings = make_controller_settings(spec, "", "");
    ASSERT_TRUE(settings.ok());
    auto outcome = learn_message(*settings, MessageClass::Spam, kMessage);
    ASSERT_FALSE(outcome.ok());
    EXPECT_TRUE(outcome.error().temporary);
    EXPECT_NE(outcome.error().message.find("cannot connect to rspamd controller " + spec), std::string::npos)
        << outcome.error().message;
}

TEST(ControllerClient, RefusesEmptyAndOversizedMessagesWithoutConnecting) {
    auto settings = make_controller_settings("unix:/nonexistent/controller.sock", "", "");
    ASSERT_TRUE(settings.ok());
    EXPECT_FALSE(learn_message(*settings, MessageClass::Spam, "").ok());
    auto too_big = learn_message(*settings, MessageClass::Spam, std::string(kMaxMessageBytes + 1, 'x'));
    ASSERT_FALSE(too_big.ok());
    EXPECT_NE(too_big.error().message.find("larger than"), std::string::npos);
}

TEST(ControllerSettings, ParsesTimeouts) {
    EXPECT_EQ(parse_timeout("500ms").value(), 500ms);
    EXPECT_EQ(parse_timeout("5s").value(), 5000ms);
    EXPECT_EQ(parse_timeout("7").value(), 7000ms);
    EXPECT_EQ(parse_timeout("1m").value(), 60000ms);
    for (const char* bad : {"", "0", "0s", "-1s", "5h", "s", "2m", "61s", "1.5s"})
        EXPECT_FALSE(parse_timeout(bad).ok()) << bad;
}

TEST(ControllerSettings, RejectsBadControllerWithTheSettingNamed) {
    auto settings = make_controller_settings("http://localhost:11334", "", "");
    ASSERT_FALSE(settings.ok());
    EXPECT_NE(settings.error().message.find("rspamd controller"), std::string::npos);
}

TEST(ControllerSettings, ReadsTheFirstLineOfThePasswordFile) {
    char pattern[] = "/tmp/snm-sieve-password-XXXXXX";
    const int fd = ::mkstemp(pattern);
    ASSERT_GE(fd, 0);
    ::close(fd);
    std::ofstream(pattern) << "  s3cret \nsecond line\n";
    EXPECT_EQ(read_password_file(pattern).value(), "s3cret");
    std::ofstream(pattern) << std::string(kMaxPasswordFileBytes + 1, 'x');
    EXPECT_FALSE(read_password_file(pattern).ok());
    std::ofstream(pattern) << "pass\x01word\n";
    EXPECT_FALSE(read_password_file(pattern).ok());
    ::unlink(pattern);
    auto missing = read_password_file(pattern);
    ASSERT_FALSE(missing.ok());
    EXPECT_NE(missing.error().message.find(pattern), std::string::npos);
    EXPECT_EQ(read_password_file("").value(), "");
}

TEST(ControllerSettings, MessageClasses) {
    EXPECT_EQ(parse_message_class("spam"), MessageClass::Spam);
    EXPECT_EQ(parse_message_class("ham"), MessageClass::Ham);
    EXPECT_FALSE(parse_message_class("Spam"));
    EXPECT_FALSE(parse_message_class("junk"));
}

TEST(LearnBridge, BadSettingsGiveNullAndAMessage) {
    char error[SNM_LEARN_MESSAGE_SIZE];
    EXPECT_EQ(snm_learner_new("localhost:11334", nullptr, nullptr, error), nullptr);
    EXPECT_NE(std::string(error).find("socket"), std::string::npos) << error;
    EXPECT_EQ(snm_learner_new(nullptr, nullptr, nullptr, error), nullptr);
    EXPECT_NE(std::string(error).find("no rspamd controller"), std::string::npos) << error;
    EXPECT_EQ(snm_learner_new("unix:/run/x.sock", nullptr, "forever", error), nullptr);
    EXPECT_NE(std::string(error).find("forever"), std::string::npos) << error;
}

TEST(LearnBridge, ReadsThePasswordFileAtEachLearn) {
    TestServer server(TestServer::Transport::Unix);
    server.serve({{kSuccess}, {json_reply(208, "Already Reported", "{}")}});
    char pattern[] = "/tmp/snm-sieve-password-XXXXXX";
    const int fd = ::mkstemp(pattern);
    ASSERT_GE(fd, 0);
    ::close(fd);
    std::ofstream(pattern) << "first\n";
    char error[SNM_LEARN_MESSAGE_SIZE];
    snm_learner* learner = snm_learner_new(server.spec().c_str(), pattern, "2s", error);
    ASSERT_NE(learner, nullptr) << error;
    EXPECT_EQ(snm_learner_controller(learner), server.spec());
    char detail[SNM_LEARN_MESSAGE_SIZE];
    EXPECT_EQ(snm_learner_learn(learner, 1, kMessage.data(), kMessage.size(), "bob", detail), SNM_LEARN_LEARNED);
    std::ofstream(pattern) << "second\n";
    EXPECT_EQ(snm_learner_learn(learner, 0, kMessage.data(), kMessage.size(), nullptr, detail),
              SNM_LEARN_ALREADY_LEARNED);
    ::unlink(pattern);
    EXPECT_EQ(snm_learner_learn(learner, 0, kMessage.data(), kMessage.size(), nullptr, detail), SNM_LEARN_FAILED);
    EXPECT_NE(std::string(detail).find(pattern), std::string::npos) << detail;
    snm_learner_free(&learner);
    EXPECT_EQ(learner, nullptr);
    const auto requests = server.requests();
    ASSERT_EQ(requests.size(), 2u);
    EXPECT_NE(requests[0].head.find("Password: first\r\n"), std::string::npos);
    EXPECT_NE(requests[1].head.find("Password: second\r\n"), std::string::npos);
    EXPECT_TRUE(requests[1].head.starts_with("POST /learnham "));
}

TEST(LearnBridge, FailureDetailNamesTheController) {
    char error[SNM_LEARN_MESSAGE_SIZE];
    snm_learner* learner = snm_learner_new("unix:/nonexistent/snm/controller.sock", "", "", error);
    ASSERT_NE(learner, nullptr) << error;
    char detail[SNM_LEARN_MESSAGE_SIZE];
    EXPECT_EQ(snm_learner_learn(learner, 1, kMessage.data(), kMessage.size(), nullptr, detail), SNM_LEARN_FAILED);
    EXPECT_NE(std::string(detail).find("unix:/nonexistent/snm/controller.sock"), std::string::npos) << detail;
    snm_learner_free(&learner);
}

}  // namespace
