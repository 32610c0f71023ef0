// socket_spec.hpp — Postfix-style socket specifications and listening
// sockets for snm's daemons.
//
//   unix:/path/to/socket      a unix-domain stream socket
//   inet:127.0.0.1:10030      TCP on a host and port ("inet:[::1]:10030" for IPv6)
//   inet:10030@127.0.0.1      libmilter's form, accepted too
#pragma once

#include <sys/types.h>

#include <chrono>
#include <string>
#include <string_view>

#include "result.hpp"

namespace snm {

struct SocketSpec {
    enum class Family { Unix, Inet };
    Family family = Family::Unix;
    std::string path;  // unix
    std::string host;  // inet
    unsigned port = 0; // inet
    std::string text;  // as given, for messages
};

Result<SocketSpec> parse_socket_spec(std::string_view text);

struct ListenOptions {
    mode_t unix_mode = 0660;  // permissions of a unix socket
    int backlog = 128;
    bool nonblocking = false;
};

// Creates, binds and listens. A stale unix socket file is replaced (only if
// it is a socket; any other file at that path is an error).
Result<int> listen_on(const SocketSpec& spec, const ListenOptions& options = {});

// Small writes go out at once, not held back by Nagle's algorithm until the
// peer acknowledges the previous ones. No effect on a unix socket.
void set_tcp_nodelay(int fd);

struct ConnectOptions {
    std::string_view peer;     // what listens there, for messages ("rspamd controller")
    bool nonblocking = false;  // leave the socket non-blocking (the caller polls)
};

// Connects to `spec` within `timeout`: a blocking connect can hang for minutes
// on a TCP listener whose backlog is full. A unix socket whose backlog is full
// fails at once. Errors read "cannot connect to [PEER ]SPEC: why" and are
// temporary, except an address that cannot be resolved.
Result<int> connect_to(const SocketSpec& spec, std::chrono::milliseconds timeout, const ConnectOptions& options = {});

// Bound for connect_to(spec): tests and benchmarks, where the peer is known
// to be there and only a wedged one would make it matter.
inline constexpr std::chrono::milliseconds kDefaultConnectTimeout{30000};

// connect_to(spec, kDefaultConnectTimeout): a blocking socket, connected.
inline Result<int> connect_to(const SocketSpec& spec) { return connect_to(spec, kDefaultConnectTimeout); }

}  // namespace snm
