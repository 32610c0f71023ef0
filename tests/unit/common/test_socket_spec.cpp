// Unit tests of socket_spec.hpp: the socket forms every daemon accepts, and
// listening/connecting on both families, connecting within a time limit.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <vector>

#include "socket_spec.hpp"

using namespace snm;
using namespace std::chrono_literals;

namespace {

// A loopback TCP port nobody listens on (bound by the kernel, then freed).
unsigned free_loopback_port() {
    const int probe = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    EXPECT_EQ(::bind(probe, reinterpret_cast<sockaddr*>(&address), sizeof address), 0);
    socklen_t length = sizeof address;
    ::getsockname(probe, reinterpret_cast<sockaddr*>(&address), &length);
    ::close(probe);
    return ntohs(address.sin_port);
}

// File descriptors closed at the end of a test.
struct Descriptors {
    std::vector<int> fds;
    ~Descriptors() {
        for (int fd : fds) ::close(fd);
    }
};

// Connects with `timeout` until a connection fails (at most `limit` tries);
// the connections made are kept open in `open` so the backlog stays full.
Result<int> connect_until_refused(const SocketSpec& spec, std::chrono::milliseconds timeout, Descriptors& open,
                                  int limit = 64) {
    for (int i = 0; i < limit; ++i) {
        auto fd = connect_to(spec, timeout, ConnectOptions{.peer = "test peer"});
        if (!fd) return fd;
        open.fds.push_back(*fd);
    }
    return Error{"every connection succeeded"};
}

}  // namespace

TEST(SocketSpec, ParsesUnixAndBothInetForms) {
    auto unix_spec = parse_socket_spec("unix:/run/snm/policy.sock");
    ASSERT_TRUE(unix_spec);
    EXPECT_EQ(unix_spec->family, SocketSpec::Family::Unix);
    EXPECT_EQ(unix_spec->path, "/run/snm/policy.sock");

    auto postfix_form = parse_socket_spec("inet:127.0.0.1:10030");
    ASSERT_TRUE(postfix_form);
    EXPECT_EQ(postfix_form->host, "127.0.0.1");
    EXPECT_EQ(postfix_form->port, 10030u);

    auto milter_form = parse_socket_spec("inet:8891@127.0.0.1");
    ASSERT_TRUE(milter_form);
    EXPECT_EQ(milter_form->host, "127.0.0.1");
    EXPECT_EQ(milter_form->port, 8891u);

    auto v6 = parse_socket_spec("inet:[::1]:25");
    ASSERT_TRUE(v6);
    EXPECT_EQ(v6->host, "::1");
}

TEST(SocketSpec, RejectsMalformedSpecsWithAReason) {
    for (const char* bad : {"", "tcp:1.2.3.4:5", "unix:relative", "inet:127.0.0.1", "inet:127.0.0.1:0",
                            "inet:127.0.0.1:70000", "inet:host:port", "inet::25"}) {
        auto parsed = parse_socket_spec(bad);
        EXPECT_FALSE(parsed) << bad;
        if (!parsed) {
            EXPECT_NE(parsed.error().message.find("socket"), std::string::npos) << bad;
        }
    }
}

TEST(SocketSpec, ListensAndConnectsOnUnixSockets) {
    char directory[] = "/tmp/snm-sock-XXXXXX";
    ASSERT_TRUE(::mkdtemp(directory));
    const std::string path = std::string(directory) + "/s";
    auto spec = parse_socket_spec("unix:" + path);
    ASSERT_TRUE(spec);
    auto listener = listen_on(*spec, ListenOptions{0600});
    ASSERT_TRUE(listener) << listener.error().message;
    struct stat st {};
    ASSERT_EQ(::stat(path.c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 0777, 0600u);
    auto client = connect_to(*spec);
    ASSERT_TRUE(client) << client.error().message;
    ::close(*client);
    ::close(*listener);
    // A stale socket is replaced; a regular file is not.
    auto again = listen_on(*spec);
    ASSERT_TRUE(again);
    ::close(*again);
    ::unlink(path.c_str());
    std::ofstream(path) << "data";
    auto refused = listen_on(*spec);
    ASSERT_FALSE(refused);
    EXPECT_NE(refused.error().message.find("is not a socket"), std::string::npos);
    ::unlink(path.c_str());
    ::rmdir(directory);
}

TEST(SocketSpec, ListensOnLoopbackTcp) {
    // Port chosen by the kernel: bind port 0 is not a valid spec, so find a free one.
    const int probe = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ASSERT_EQ(::bind(probe, reinterpret_cast<sockaddr*>(&address), sizeof address), 0);
    socklen_t length = sizeof address;
    ::getsockname(probe, reinterpret_cast<sockaddr*>(&address), &length);
    const unsigned port = ntohs(address.sin_port);
    ::close(probe);
    auto spec = parse_socket_spec("inet:127.0.0.1:" + std::to_string(port));
    ASSERT_TRUE(spec);
    auto listener = listen_on(*spec);
    ASSERT_TRUE(listener) << listener.error().message;
    auto client = connect_to(*spec);
    ASSERT_TRUE(client) << client.error().message;
    ::close(*client);
    ::close(*listener);
}

TEST(SocketSpec, TimedConnectReachesListenersOnBothFamilies) {
    char directory[] = "/tmp/snm-sock-XXXXXX";
    ASSERT_TRUE(::mkdtemp(directory));
    const std::string path = std::string(directory) + "/s";
    auto unix_spec = parse_socket_spec("unix:" + path);
    auto inet_spec = parse_socket_spec("inet:127.0.0.1:" + std::to_string(free_loopback_port()));
    ASSERT_TRUE(unix_spec && inet_spec);
    Descriptors open;
    for (const auto* spec : {&*unix_spec, &*inet_spec}) {
        auto listener = listen_on(*spec);
        ASSERT_TRUE(listener) << listener.error().message;
        open.fds.push_back(*listener);
        auto blocking = connect_to(*spec, 1000ms);
        ASSERT_TRUE(blocking) << blocking.error().message;
        open.fds.push_back(*blocking);
        EXPECT_EQ(::fcntl(*blocking, F_GETFL) & O_NONBLOCK, 0) << spec->text;
        auto nonblocking = connect_to(*spec, 1000ms, ConnectOptions{.peer = {}, .nonblocking = true});
        ASSERT_TRUE(nonblocking) << nonblocking.error().message;
        open.fds.push_back(*nonblocking);
        EXPECT_NE(::fcntl(*nonblocking, F_GETFL) & O_NONBLOCK, 0) << spec->text;
    }
    ::unlink(path.c_str());
    ::rmdir(directory);
}

TEST(SocketSpec, TimedConnectToAFullTcpBacklogTimesOut) {
    // Linux drops the SYNs a listener with a full accept queue receives: the
    // client would retry for minutes. Backlog 0 holds one connection.
    auto spec = parse_socket_spec("inet:127.0.0.1:" + std::to_string(free_loopback_port()));
    ASSERT_TRUE(spec);
    auto listener = listen_on(*spec, ListenOptions{.backlog = 0});
    ASSERT_TRUE(listener) << listener.error().message;
    Descriptors open;
    open.fds.push_back(*listener);
    const auto started = std::chrono::steady_clock::now();
    auto refused = connect_until_refused(*spec, 200ms, open);
    const auto elapsed = std::chrono::steady_clock::now() - started;
    ASSERT_FALSE(refused);
    EXPECT_GE(open.fds.size(), 2u) << "not even one connection was accepted into the backlog";
    EXPECT_TRUE(refused.error().temporary);
    EXPECT_EQ(refused.error().message, "cannot connect to test peer " + spec->text + ": no connection within 200 ms");
    EXPECT_GE(elapsed, 200ms);
    EXPECT_LT(elapsed, 5s);
}

TEST(SocketSpec, TimedConnectToAFullUnixBacklogFailsAtOnce) {
    char directory[] = "/tmp/snm-sock-XXXXXX";
    ASSERT_TRUE(::mkdtemp(directory));
    const std::string path = std::string(directory) + "/s";
    auto spec = parse_socket_spec("unix:" + path);
    ASSERT_TRUE(spec);
    auto listener = listen_on(*spec, ListenOptions{.backlog = 0});
    ASSERT_TRUE(listener) << listener.error().message;
    Descriptors open;
    open.fds.push_back(*listener);
    const auto started = std::chrono::steady_clock::now();
    auto refused = connect_until_refused(*spec, 10s, open);
    const auto elapsed = std::chrono::steady_clock::now() - started;
    ASSERT_FALSE(refused);
    EXPECT_TRUE(refused.error().temporary);
    EXPECT_NE(refused.error().message.find("backlog full"), std::string::npos) << refused.error().message;
    EXPECT_LT(elapsed, 5s);  // not the 10 s time limit
    ::unlink(path.c_str());
    ::rmdir(directory);
}

TEST(SocketSpec, TimedConnectWithNobodyListeningNamesThePeer) {
    auto spec = parse_socket_spec("inet:127.0.0.1:" + std::to_string(free_loopback_port()));
    ASSERT_TRUE(spec);
    auto refused = connect_to(*spec, 1000ms, ConnectOptions{.peer = "rspamd controller"});
    ASSERT_FALSE(refused);
    EXPECT_TRUE(refused.error().temporary);
    EXPECT_EQ(refused.error().message, "cannot connect to rspamd controller " + spec->text + ": Connection refused");
    auto missing = connect_to(*parse_socket_spec("unix:/nonexistent/snm-test.sock"), 1000ms);
    ASSERT_FALSE(missing);
    EXPECT_NE(missing.error().message.find("cannot connect to unix:/nonexistent/snm-test.sock: "), std::string::npos)
        << missing.error().message;
}
