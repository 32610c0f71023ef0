// server.hpp — snm-policyd's event loop: one thread, epoll, many
// persistent connections on three kinds of listener (Postfix's socketmap
// and policy, Dovecot's auth policy), all answered from one routing
// snapshot and one memory of failed logins.
//
// Each connection reads into a bounded buffer and answers every complete
// request in it (Postfix may pipeline), with replies written in one go.
// Limits: a request over its protocol's limit, or malformed, closes that
// connection with one log line; a request left half-sent for
// kRequestTimeout, or a connection idle for kIdleTimeout, is closed; a
// client that stops reading its replies is not read from until it does.
//
// The snapshot is fetched once per batch of requests from a
// SnapshotSource (KeepLast: a broken new file leaves the last good one in
// service); a request in flight keeps the snapshot it started with.
// SIGHUP checks the snapshot file at once; SIGTERM/SIGINT stop accepting,
// flush the replies already computed (for up to kDrainTimeout) and return.
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "login_failures.hpp"
#include "policyd_limits.hpp"
#include "result.hpp"
#include "routing_snapshot.hpp"
#include "snapshot_source.hpp"

namespace snm::policyd {

// Postfix socketmap tables, Postfix SMTPD access policy, Dovecot auth policy (HTTP).
enum class Protocol { Socketmap, Policy, AuthPolicy };

class Server {
public:
    // `snapshot_path`: the routing snapshot (<state>/routing.cdb).
    explicit Server(std::string snapshot_path);
    ~Server();
    Server(const Server&) = delete;
    Server& operator=(const Server&) = delete;

    // A listening socket (already bound) serving `protocol`; the server owns it.
    void add_listener(Protocol protocol, int fd, std::string name);

    // The key Dovecot's auth policy requests must carry (auth_policy.hpp).
    void set_auth_policy_key(std::string key) { auth_policy_key_ = std::move(key); }

    // Serves until SIGTERM or SIGINT arrives on `signal_fd` (daemon.hpp's
    // signal_events()). Fails only if the event loop cannot be set up.
    Status run(int signal_fd);

private:
    struct Watched;
    struct Listener;
    struct Connection;

    void accept_all(Listener& listener);
    void watch_listener(Listener& listener, bool watch);
    // A refused or failed accept, logged at most once a second (a flood
    // would otherwise flood the log too).
    void warn_refusal(const std::string& message);
    void on_readable(Connection& connection);
    void serve_buffered(Connection& connection);
    // Each answers the request at the start of `input` and returns the bytes
    // it took: 0 when more are needed, or when the connection was closed.
    std::size_t serve_socketmap(Connection& connection, const RoutingSnapshot* routing, std::string_view input);
    std::size_t serve_policy(Connection& connection, const RoutingSnapshot* routing, std::string_view input);
    std::size_t serve_auth_policy(Connection& connection, const RoutingSnapshot* routing, std::string_view input);
    bool flush(Connection& connection);  // false: connection failed
    void update_interest(Connection& connection);
    void close_connection(Connection& connection, const std::string& why);  // empty why: a normal close
    void reap_closed();
    void sweep_timeouts();
    void on_signals(int signal_fd, bool& stop);
    void drain();

    SnapshotSource<RoutingSnapshot> snapshots_;
    LoginFailures login_failures_;  // kept across snapshot changes and SIGHUP
    std::string auth_policy_key_;
    int epoll_fd_ = -1;
    std::vector<std::unique_ptr<Listener>> listeners_;
    std::vector<std::unique_ptr<Connection>> connections_;
    std::size_t closed_count_ = 0;  // closed connections not yet reaped
    std::chrono::steady_clock::time_point last_refusal_log_{};
};

}  // namespace snm::policyd
