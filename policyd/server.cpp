// server.cpp — see server.hpp.
#include "server.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <csignal>
#include <cstring>

#include "auth_policy.hpp"
#include "log.hpp"
#include "netstring.hpp"
#include "policy.hpp"
#include "policy_request.hpp"
#include "socket_spec.hpp"
#include "socketmap.hpp"

namespace snm::policyd {

namespace {

using Clock = std::chrono::steady_clock;

// Most bytes read in one read(2); a buffer never holds more than one
// request's limit beyond what it has already answered.
constexpr std::size_t kReadChunk = 16 * 1024;
constexpr int kMaxEvents = 256;
// How often timeouts are checked (and the longest epoll_wait).
constexpr int kTickMilliseconds = 1000;

std::size_t max_request(Protocol protocol) {
    switch (protocol) {
        // A socketmap netstring is its payload plus "<digits>:" and ",".
        case Protocol::Socketmap: return kMaxSocketmapRequest + kMaxNetstringDigits + 2;
        case Protocol::Policy: return kMaxPolicyRequest;
        case Protocol::AuthPolicy: return kMaxAuthPolicyHeader + kMaxAuthPolicyBody;
    }
    return 0;
}

const char* protocol_name(Protocol protocol) {
    switch (protocol) {
        case Protocol::Socketmap: return "socketmap";
        case Protocol::Policy: return "policy";
        case Protocol::AuthPolicy: return "auth policy";
    }
    return "?";
}

std::string peer_name(int fd) {
    sockaddr_storage address{};
    socklen_t length = sizeof address;
    if (::getpeername(fd, reinterpret_cast<sockaddr*>(&address), &length) != 0) return "unknown";
    char text[INET6_ADDRSTRLEN] = "";
    if (address.ss_family == AF_INET) {
        const auto* in = reinterpret_cast<const sockaddr_in*>(&address);
        ::inet_ntop(AF_INET, &in->sin_addr, text, sizeof text);
        return fmt::format("{}:{}", text, ntohs(in->sin_port));
    }
    if (address.ss_family == AF_INET6) {
        const auto* in6 = reinterpret_cast<const sockaddr_in6*>(&address);
        ::inet_ntop(AF_INET6, &in6->sin6_addr, text, sizeof text);
        return fmt::format("[{}]:{}", text, ntohs(in6->sin6_port));
    }
    return "local";
}

}  // namespace

struct Server::Watched {
    enum class Kind { Signals, Listener, Connection };
    explicit Watched(Kind k) : kind(k) {}
    Kind kind;
};

struct Server::Listener : Watched {
    Listener(Protocol p, int f, std::string n) : Watched(Kind::Listener), protocol(p), fd(f), name(std::move(n)) {}
    ~Listener() { if (fd >= 0) ::close(fd); }
    Protocol protocol;
    int fd;
    std::string name;
    bool paused = false;  // out of descriptors: not watched until the next tick
};

struct Server::Connection : Watched {
    Connection(Protocol p, int f, std::string n) : Watched(Kind::Connection), protocol(p), fd(f), peer(std::move(n)) {}
    ~Connection() { if (fd >= 0) ::close(fd); }
    Protocol protocol;
    int fd;
    std::string peer;
    std::string input;             // unanswered bytes
    std::string output;            // replies not yet written
    std::size_t output_sent = 0;   // bytes of output already written
    Clock::time_point last_activity = Clock::now();
    bool reading = true;           // EPOLLIN wanted
    bool writing = false;          // EPOLLOUT wanted
    // Reused per request; steady state allocates nothing.
    std::string reply;
    LookupScratch scratch;
    PolicyRequest request;
    AuthPolicyRequest auth_request;
    std::size_t pending() const { return output.size() - output_sent; }
};

Server::Server(std::string snapshot_path)
    : snapshots_(std::move(snapshot_path), OnBrokenSnapshot::KeepLast, [](const SnapshotEvent& event) {
          if (event.error)
              log_warning("{}", event.message);
          else
              log_info("{}", event.message);
      }) {}

Server::~Server() {
    connections_.clear();
    listeners_.clear();
    if (epoll_fd_ >= 0) ::close(epoll_fd_);
}

void Server::add_listener(Protocol protocol, int fd, std::string name) {
    listeners_.push_back(std::make_unique<Listener>(protocol, fd, std::move(name)));
}

Status Server::run(int signal_fd) {
    epoll_fd_ = ::epoll_create1(EPOLL_CLOEXEC);
    if (epoll_fd_ < 0) return Error{fmt::format("epoll_create1 failed: {}", std::strerror(errno))};
    Watched signals(Watched::Kind::Signals);
    epoll_event event{};
    event.events = EPOLLIN;
    event.data.ptr = &signals;
    if (::epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, signal_fd, &event) != 0)
        return Error{fmt::format("epoll_ctl failed: {}", std::strerror(errno))};
    for (auto& listener : listeners_) {
        event.data.ptr = static_cast<Watched*>(listener.get());
        if (::epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, listener->fd, &event) != 0)
            return Error{fmt::format("epoll_ctl failed: {}", std::strerror(errno))};
        log_info("serving {} on {}", protocol_name(listener->protocol), listener->name);
    }
    if (!snapshots_.get()) log_warning("no routing snapshot yet: answering TEMP / DEFER_IF_PERMIT until one appears");

    std::array<epoll_event, kMaxEvents> events;
    auto last_sweep = Clock::now();
    bool stop = false;
    while (!stop) {
        const int count = ::epoll_wait(epoll_fd_, events.data(), kMaxEvents, kTickMilliseconds);
        if (count < 0 && errno != EINTR) return Error{fmt::format("epoll_wait failed: {}", std::strerror(errno))};
        for (int i = 0; i < count; ++i) {
            auto* watched = static_cast<Watched*>(events[i].data.ptr);
            switch (watched->kind) {
                case Watched::Kind::Signals:
                    on_signals(signal_fd, stop);
                    break;
                case Watched::Kind::Listener:
                    accept_all(*static_cast<Listener*>(watched));
                    break;
                case Watched::Kind::Connection: {
                    auto& connection = *static_cast<Connection*>(watched);
                    if (connection.fd < 0) break;  // closed earlier in this batch
                    if (events[i].events & EPOLLOUT) {
                        if (!flush(connection)) break;  // closed
                        if (connection.pending() == 0 && !connection.input.empty()) serve_buffered(connection);
                        if (connection.fd < 0) break;
                        update_interest(connection);
                    }
                    if (connection.fd >= 0 && (events[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR)))
                        on_readable(connection);
                    break;
                }
            }
        }
        reap_closed();
        const auto now = Clock::now();
        if (now - last_sweep >= std::chrono::milliseconds(kTickMilliseconds)) {
            last_sweep = now;
            sweep_timeouts();
            for (auto& listener : listeners_)
                if (listener->paused) watch_listener(*listener, true);
        }
    }
    drain();
    return success();
}

void Server::watch_listener(Listener& listener, bool watch) {
    epoll_event event{};
    event.events = watch ? static_cast<std::uint32_t>(EPOLLIN) : 0u;
    event.data.ptr = static_cast<Watched*>(&listener);
    if (::epoll_ctl(epoll_fd_, EPOLL_CTL_MOD, listener.fd, &event) == 0) listener.paused = !watch;
}

void Server::warn_refusal(const std::string& message) {
    const auto now = Clock::now();
    if (now - last_refusal_log_ < std::chrono::seconds(1)) return;
    last_refusal_log_ = now;
    log_warning("{}", message);
}

void Server::accept_all(Listener& listener) {
    for (;;) {
        const int fd = ::accept4(listener.fd, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
            const int error = errno;
            if (error == EINTR || error == ECONNABORTED) continue;
            if (error != EAGAIN && error != EWOULDBLOCK) {
                warn_refusal(fmt::format("accept on {} failed: {}", listener.name, std::strerror(error)));
                // The listener stays readable: stop watching it until the
                // next tick rather than spinning on it.
                if (error == EMFILE || error == ENFILE || error == ENOBUFS || error == ENOMEM)
                    watch_listener(listener, false);
            }
            return;
        }
        if (connections_.size() >= kMaxConnections) {
            ::close(fd);
            warn_refusal(fmt::format("refusing a connection on {}: {} connections open (the limit)", listener.name,
                                     kMaxConnections));
            continue;
        }
        set_tcp_nodelay(fd);
        auto connection = std::make_unique<Connection>(listener.protocol, fd, peer_name(fd));
        epoll_event event{};
        event.events = EPOLLIN;
        event.data.ptr = static_cast<Watched*>(connection.get());
        if (::epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, fd, &event) != 0) {
            log_warning("epoll_ctl for a connection on {} failed: {}", listener.name, std::strerror(errno));
            continue;
        }
        log_debug("connect from {} on {}", connection->peer, listener.name);
        connections_.push_back(std::move(connection));
    }
}

void Server::on_readable(Connection& connection) {
    const std::size_t limit = max_request(connection.protocol) + kReadChunk;
    const std::size_t used = connection.input.size();
    const std::size_t room = std::min(kReadChunk, limit - std::min(limit, used));
    if (room == 0) {  // cannot happen: serve_buffered() refuses an over-long request first
        close_connection(connection, "input buffer full");
        return;
    }
    std::array<char, kReadChunk> chunk;  // not the string's tail: resize() would zero it on every read
    const ssize_t got = ::read(connection.fd, chunk.data(), room);
    if (got <= 0) {
        if (got < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) return;
        // A client leaving between requests (EOF, or a reset because it did
        // not read a reply it no longer wanted) is normal; in the middle of
        // a request it is worth a line.
        if (!connection.input.empty())
            close_connection(connection, got < 0 ? std::string("read failed: ") + std::strerror(errno)
                                                 : std::string("lost connection in the middle of a request"));
        else if (got < 0 && errno != ECONNRESET)
            close_connection(connection, std::string("read failed: ") + std::strerror(errno));
        else
            close_connection(connection, {});
        return;
    }
    connection.input.append(chunk.data(), static_cast<std::size_t>(got));
    connection.last_activity = Clock::now();
    serve_buffered(connection);
    if (connection.fd < 0) return;
    if (connection.pending() > 0 && !flush(connection)) return;
    update_interest(connection);
}

void Server::serve_buffered(Connection& connection) {
    const auto snapshot = snapshots_.get();  // one snapshot for the whole batch
    const RoutingSnapshot* routing = snapshot.get();
    std::string_view input(connection.input);
    std::size_t position = 0;
    while (position < input.size() && connection.pending() < kMaxPendingOutput) {
        const auto rest = input.substr(position);
        std::size_t consumed = 0;
        switch (connection.protocol) {
            case Protocol::Socketmap: consumed = serve_socketmap(connection, routing, rest); break;
            case Protocol::Policy: consumed = serve_policy(connection, routing, rest); break;
            case Protocol::AuthPolicy: consumed = serve_auth_policy(connection, routing, rest); break;
        }
        if (connection.fd < 0) return;  // closed: the request was malformed
        if (consumed == 0) break;       // the rest of the request is still to come
        position += consumed;
    }
    connection.input.erase(0, position);
    if (connection.input.size() > max_request(connection.protocol))  // the parsers refuse this first
        close_connection(connection, "request larger than the limit");
}

std::size_t Server::serve_socketmap(Connection& connection, const RoutingSnapshot* routing, std::string_view input) {
    const auto decoded = decode_netstring(input, kMaxSocketmapRequest);
    if (decoded.status == NetstringDecoded::Status::NeedMore) return 0;
    if (decoded.status == NetstringDecoded::Status::Malformed) {
        close_connection(connection, fmt::format("malformed socketmap request: {}", decoded.error));
        return 0;
    }
    const auto outcome = answer_socketmap(routing, decoded.payload, connection.reply, connection.scratch);
    if (outcome == SocketmapOutcome::Permanent || outcome == SocketmapOutcome::Temporary)
        log_warning("socketmap from {}: \"{}\": {}", connection.peer, decoded.payload.substr(0, 200), connection.reply);
    else if (log_debug_enabled())  // formatting costs as much as the lookup: only when wanted
        log_debug("socketmap from {}: \"{}\": {}", connection.peer, decoded.payload, connection.reply);
    append_netstring(connection.output, connection.reply);
    return decoded.consumed;
}

std::size_t Server::serve_policy(Connection& connection, const RoutingSnapshot* routing, std::string_view input) {
    auto& request = connection.request;
    const auto parsed = parse_policy_request(input, request);
    if (parsed.status == PolicyParsed::Status::NeedMore) return 0;
    if (parsed.status == PolicyParsed::Status::Malformed) {
        close_connection(connection, fmt::format("malformed policy request: {}", parsed.error));
        return 0;
    }
    if (request.request != "smtpd_access_policy") {
        close_connection(connection, fmt::format("policy request type \"{}\" is not smtpd_access_policy",
                                                 request.request.substr(0, 100)));
        return 0;
    }
    const auto decision = decide_policy(routing, request, connection.reply, connection.scratch);
    // One line per decision; DUNNO only when debugging.
    if (decision.outcome != PolicyOutcome::Dunno || log_debug_enabled())
        log_line(decision.outcome == PolicyOutcome::Defer ? LogLevel::Warning : LogLevel::Info,
                 fmt::format("{}: {}: {} from {}[{}]: sender=<{}> recipient=<{}> sasl_username={}: {} ({})",
                             request.queue_id.empty() ? "NOQUEUE" : request.queue_id,
                             decision.outcome == PolicyOutcome::Reject  ? "reject"
                             : decision.outcome == PolicyOutcome::Defer ? "defer"
                                                                        : "dunno",
                             request.protocol_state, request.client_name, request.client_address, request.sender,
                             request.recipient, request.sasl_username, connection.reply, decision.reason));
    connection.output.append("action=").append(connection.reply).append("\n\n");
    return parsed.consumed;
}

std::size_t Server::serve_auth_policy(Connection& connection, const RoutingSnapshot* routing, std::string_view input) {
    const auto parsed = parse_auth_policy_request(input, connection.auth_request);
    if (parsed.status == AuthPolicyParsed::Status::NeedMore) return 0;
    if (parsed.status == AuthPolicyParsed::Status::Malformed) {
        // Said before closing, so a client (or a person with curl) learns why.
        connection.output.append(auth_policy_bad_request());
        flush(connection);
        if (connection.fd >= 0) close_connection(connection, fmt::format("malformed auth policy request: {}", parsed.error));
        return 0;
    }
    const auto answer = answer_auth_policy(routing, login_failures_, connection.auth_request, auth_policy_key_, Clock::now());
    if (!answer.log_line.empty()) log_line(answer.warning ? LogLevel::Warning : LogLevel::Info, answer.log_line);
    connection.output.append(answer.response);
    return parsed.consumed;
}

bool Server::flush(Connection& connection) {
    while (connection.pending() > 0) {
        const ssize_t sent = ::send(connection.fd, connection.output.data() + connection.output_sent,
                                    connection.pending(), MSG_NOSIGNAL);
        if (sent < 0) {
            if (errno == EINTR) continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK) return true;
            close_connection(connection, std::string("write failed: ") + std::strerror(errno));
            return false;
        }
        connection.output_sent += static_cast<std::size_t>(sent);
        connection.last_activity = Clock::now();
    }
    connection.output.clear();
    connection.output_sent = 0;
    return true;
}

void Server::update_interest(Connection& connection) {
    const bool writing = connection.pending() > 0;
    const bool reading = connection.pending() < kMaxPendingOutput;
    if (writing == connection.writing && reading == connection.reading) return;
    connection.writing = writing;
    connection.reading = reading;
    epoll_event event{};
    event.events = (reading ? EPOLLIN : 0u) | (writing ? EPOLLOUT : 0u);
    event.data.ptr = static_cast<Watched*>(&connection);
    if (::epoll_ctl(epoll_fd_, EPOLL_CTL_MOD, connection.fd, &event) != 0)
        close_connection(connection, fmt::format("epoll_ctl failed: {}", std::strerror(errno)));
}

void Server::close_connection(Connection& connection, const std::string& why) {
    if (why.empty())
        log_debug("disconnect from {}", connection.peer);
    else
        log_warning("{} connection from {}: {}; closing it", protocol_name(connection.protocol), connection.peer, why);
    ::epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, connection.fd, nullptr);
    ::close(connection.fd);
    connection.fd = -1;  // destroyed by reap_closed(), after the event batch
    ++closed_count_;
}

void Server::reap_closed() {
    if (closed_count_ == 0) return;
    std::erase_if(connections_, [](const auto& connection) { return connection->fd < 0; });
    closed_count_ = 0;
}

void Server::sweep_timeouts() {
    const auto now = Clock::now();
    for (auto& connection : connections_) {
        if (connection->fd < 0) continue;
        const bool mid_request = !connection->input.empty() || connection->pending() > 0;
        const auto limit = mid_request ? std::chrono::duration_cast<Clock::duration>(kRequestTimeout)
                                       : std::chrono::duration_cast<Clock::duration>(kIdleTimeout);
        if (now - connection->last_activity >= limit)
            close_connection(*connection, mid_request ? "timeout in the middle of a request" : "idle timeout");
    }
    reap_closed();
}

void Server::on_signals(int signal_fd, bool& stop) {
    signalfd_siginfo info{};
    while (::read(signal_fd, &info, sizeof info) == static_cast<ssize_t>(sizeof info)) {
        if (info.ssi_signo == SIGHUP) {
            log_info("SIGHUP: checking the routing snapshot");
            snapshots_.request_reload();
            snapshots_.get();
        } else {
            log_info("{}: finishing the replies in progress and exiting", info.ssi_signo == SIGTERM ? "SIGTERM" : "SIGINT");
            stop = true;
        }
    }
}

void Server::drain() {
    listeners_.clear();  // stop accepting; Postfix's clients retry elsewhere or later
    const auto deadline = Clock::now() + kDrainTimeout;
    for (;;) {
        bool pending = false;
        for (auto& connection : connections_)
            if (connection->fd >= 0 && connection->pending() > 0 && flush(*connection) && connection->pending() > 0)
                pending = true;
        if (!pending || Clock::now() >= deadline) break;
        std::array<epoll_event, kMaxEvents> events;
        ::epoll_wait(epoll_fd_, events.data(), kMaxEvents, 100);
    }
    connections_.clear();
}

}  // namespace snm::policyd
