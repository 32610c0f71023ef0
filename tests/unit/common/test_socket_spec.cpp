// Unit tests of socket_spec.hpp: the socket forms every daemon accepts, and
// listening/connecting on both families.
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>

#include "socket_spec.hpp"

using namespace snm;

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
