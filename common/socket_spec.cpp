// socket_spec.cpp — see socket_spec.hpp.
#include "socket_spec.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstdint>
#include <cstring>
#include <optional>
#include <fmt/format.h>

namespace snm {

namespace {

std::optional<unsigned> parse_port(std::string_view text) {
    unsigned port = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), port);
    if (ec != std::errc{} || end != text.data() + text.size() || port == 0 || port > 65535) return std::nullopt;
    return port;
}

struct ResolvedAddress {
    sockaddr_storage storage{};
    socklen_t length = 0;
};

Result<ResolvedAddress> resolve(const SocketSpec& spec) {
    ResolvedAddress address;
    if (spec.family == SocketSpec::Family::Unix) {
        sockaddr_un un{};
        un.sun_family = AF_UNIX;
        if (spec.path.size() >= sizeof un.sun_path)
            return Error{fmt::format("socket path {} is too long ({} bytes at most)", spec.path, sizeof un.sun_path - 1)};
        std::memcpy(un.sun_path, spec.path.c_str(), spec.path.size() + 1);
        std::memcpy(&address.storage, &un, sizeof un);
        address.length = sizeof un;
        return address;
    }
    addrinfo hints{};
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_NUMERICSERV | AI_PASSIVE;
    addrinfo* found = nullptr;
    const std::string port = std::to_string(spec.port);
    if (int rc = ::getaddrinfo(spec.host.c_str(), port.c_str(), &hints, &found); rc != 0)
        return Error{fmt::format("cannot resolve {} in {}: {}", spec.host, spec.text, ::gai_strerror(rc))};
    std::memcpy(&address.storage, found->ai_addr, found->ai_addrlen);
    address.length = found->ai_addrlen;
    ::freeaddrinfo(found);
    return address;
}

}  // namespace

void set_tcp_nodelay(int fd) {
    const int on = 1;
    ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof on);  // fails harmlessly on a unix socket
}

Result<SocketSpec> parse_socket_spec(std::string_view text) {
    SocketSpec spec;
    spec.text = std::string(text);
    const auto expected = [&] {
        return Error{fmt::format("socket `{}` is not unix:PATH, inet:HOST:PORT or inet:PORT@HOST", text)};
    };
    if (text.starts_with("unix:") || text.starts_with("local:")) {
        spec.family = SocketSpec::Family::Unix;
        spec.path = std::string(text.substr(text.find(':') + 1));
        if (spec.path.empty() || spec.path.front() != '/')
            return Error{fmt::format("socket `{}`: the unix socket path must be absolute", text)};
        return spec;
    }
    if (!text.starts_with("inet:")) return expected();
    auto rest = text.substr(5);
    spec.family = SocketSpec::Family::Inet;
    std::optional<unsigned> port;
    if (auto at = rest.find('@'); at != std::string_view::npos) {  // PORT@HOST
        port = parse_port(rest.substr(0, at));
        spec.host = std::string(rest.substr(at + 1));
    } else if (rest.starts_with('[')) {  // [v6]:PORT
        const auto close = rest.find("]:");
        if (close == std::string_view::npos) return expected();
        spec.host = std::string(rest.substr(1, close - 1));
        port = parse_port(rest.substr(close + 2));
    } else {
        const auto colon = rest.rfind(':');
        if (colon == std::string_view::npos) return expected();
        spec.host = std::string(rest.substr(0, colon));
        port = parse_port(rest.substr(colon + 1));
    }
    if (!port) return Error{fmt::format("socket `{}`: the port must be a number from 1 to 65535", text)};
    if (spec.host.empty()) return expected();
    spec.port = *port;
    return spec;
}

Result<int> listen_on(const SocketSpec& spec, const ListenOptions& options) {
    auto address = resolve(spec);
    if (!address) return address.error();
    const int family = spec.family == SocketSpec::Family::Unix ? AF_UNIX : address->storage.ss_family;
    const int type = SOCK_STREAM | SOCK_CLOEXEC | (options.nonblocking ? SOCK_NONBLOCK : 0);
    const int fd = ::socket(family, type, 0);
    if (fd < 0) return Error{fmt::format("socket() for {} failed: {}", spec.text, std::strerror(errno))};
    const auto fail = [&](std::string what) {
        const int saved = errno;
        ::close(fd);
        return Error{fmt::format("{} {} failed: {}", what, spec.text, std::strerror(saved))};
    };
    if (spec.family == SocketSpec::Family::Unix) {
        struct stat st {};
        if (::lstat(spec.path.c_str(), &st) == 0) {
            if (!S_ISSOCK(st.st_mode)) {
                ::close(fd);
                return Error{fmt::format("{} exists and is not a socket; remove it or choose another path", spec.path)};
            }
            ::unlink(spec.path.c_str());
        }
    } else {
        const int on = 1;
        ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on);
    }
    if (::bind(fd, reinterpret_cast<const sockaddr*>(&address->storage), address->length) != 0) return fail("bind");
    if (spec.family == SocketSpec::Family::Unix && ::chmod(spec.path.c_str(), options.unix_mode) != 0)
        return fail("chmod");
    if (::listen(fd, options.backlog) != 0) return fail("listen");
    return fd;
}

Result<int> connect_to(const SocketSpec& spec, std::chrono::milliseconds timeout, const ConnectOptions& options) {
    const auto failed = [&](std::string_view why, bool temporary = true) {
        return Error{fmt::format("cannot connect to {}{}{}: {}", options.peer, options.peer.empty() ? "" : " ",
                                 spec.text, why),
                     temporary};
    };
    auto address = resolve(spec);
    if (!address) return failed(address.error().message, address.error().temporary);
    const int family = spec.family == SocketSpec::Family::Unix ? AF_UNIX : address->storage.ss_family;
    const int fd = ::socket(family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0) return failed(fmt::format("socket() failed: {}", std::strerror(errno)));
    const auto close_and = [&](Error error) {
        ::close(fd);
        return error;
    };
    if (::connect(fd, reinterpret_cast<const sockaddr*>(&address->storage), address->length) != 0) {
        if (errno == EAGAIN) return close_and(failed("it is not accepting connections (backlog full)"));
        if (errno != EINPROGRESS) return close_and(failed(std::strerror(errno)));
        const auto deadline = std::chrono::steady_clock::now() + timeout;
        for (;;) {
            const auto left = std::chrono::ceil<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
            pollfd ready{fd, POLLOUT, 0};
            const int rc = ::poll(&ready, 1, static_cast<int>(std::max<std::int64_t>(left.count(), 0)));
            if (rc > 0) break;
            if (rc == 0) return close_and(failed(fmt::format("no connection within {} ms", timeout.count())));
            if (errno != EINTR) return close_and(failed(fmt::format("poll failed: {}", std::strerror(errno))));
        }
        int error = 0;
        socklen_t length = sizeof error;
        if (::getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &length) != 0) error = errno;
        if (error != 0) return close_and(failed(std::strerror(error)));
    }
    if (!options.nonblocking && ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) & ~O_NONBLOCK) != 0)
        return close_and(failed(fmt::format("fcntl failed: {}", std::strerror(errno))));
    set_tcp_nodelay(fd);
    return fd;
}

}  // namespace snm
