// server.cpp — see server.hpp.
#include "server.hpp"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <csignal>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "log.hpp"
#include "milter_protocol.hpp"
#include "milter_session.hpp"
#include "socket_spec.hpp"

namespace snm::milter {

namespace {

// Initial read buffer: one default-sized (64 KiB) body chunk and its header.
constexpr std::size_t kReadBuffer = 64 * 1024 + 16;
// How often a blocked read wakes up to notice shutdown.
constexpr int kWakeupSeconds = 1;
constexpr std::size_t kPacketHeader = 4;
constexpr int kOn = 1;

struct Shared {
    explicit Shared(std::shared_ptr<KeyStore> k) : keys(std::move(k)) {}
    // Owned here too: a connection thread still busy when serve() returns
    // after kDrainTimeoutSeconds keeps the keys it signs with alive.
    const std::shared_ptr<KeyStore> keys;
    std::atomic<bool> stopping{false};
    std::mutex mutex;
    std::condition_variable all_closed;
    int active = 0;
};

bool write_all(int fd, const std::string& bytes) {
    std::size_t done = 0;
    while (done < bytes.size()) {
        const ssize_t n = ::send(fd, bytes.data() + done, bytes.size() - done, MSG_NOSIGNAL);
        if (n < 0) {
            if (errno == EINTR) continue;
            return false;
        }
        done += static_cast<std::size_t>(n);
    }
    return true;
}

void serve_connection(int fd, Shared& shared) {
    sockaddr_storage local{};
    socklen_t local_size = sizeof local;
    const bool tcp = ::getsockname(fd, reinterpret_cast<sockaddr*>(&local), &local_size) == 0 &&
                     (local.ss_family == AF_INET || local.ss_family == AF_INET6);
    MilterSession session(*shared.keys);
    std::vector<char> buffer(kReadBuffer);
    std::size_t filled = 0;
    std::string replies;
    int idle_seconds = 0;
    bool open = true;
    while (open) {
        const ssize_t n = ::recv(fd, buffer.data() + filled, buffer.size() - filled, 0);
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {  // SO_RCVTIMEO expired
            idle_seconds += kWakeupSeconds;
            if ((shared.stopping && session.idle()) || idle_seconds >= kIdleTimeoutSeconds) break;
            continue;
        }
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break;
        idle_seconds = 0;
        // The MTA streams events without waiting for replies (SMFIP_NR_*) and,
        // like Postfix, without TCP_NODELAY: acknowledge at once, or its Nagle
        // holds each chunk's last segment until our delayed ACK fires (40 ms).
        if (tcp) ::setsockopt(fd, IPPROTO_TCP, TCP_QUICKACK, &kOn, sizeof kOn);
        filled += static_cast<std::size_t>(n);

        std::size_t at = 0;
        while (open && filled - at >= kPacketHeader) {
            const std::uint32_t length = proto::read_u32(buffer.data() + at);
            if (length == 0 || length > kMaxPacket) {
                log_warning("the MTA sent a milter packet of {} bytes (limit {}); closing the connection", length,
                            kMaxPacket);
                open = false;
                break;
            }
            if (filled - at - kPacketHeader < length) {
                if (kPacketHeader + length > buffer.size()) buffer.resize(kPacketHeader + length);
                break;
            }
            const char* packet = buffer.data() + at + kPacketHeader;
            if (session.handle(packet[0], std::string_view(packet + 1, length - 1), replies) ==
                MilterSession::Next::Close)
                open = false;
            at += kPacketHeader + length;
        }
        if (at > 0) {
            std::memmove(buffer.data(), buffer.data() + at, filled - at);
            filled -= at;
        }
        if (!replies.empty()) {
            if (!write_all(fd, replies)) break;
            replies.clear();
        }
        if (shared.stopping && session.idle()) break;
    }
    ::close(fd);
}

void configure(int fd) {
    const timeval wakeup{kWakeupSeconds, 0};
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &wakeup, sizeof wakeup);
    set_tcp_nodelay(fd);
}

}  // namespace

int serve(int listen_fd, int signal_fd, std::shared_ptr<KeyStore> keys) {
    // Connection threads are detached and each holds the shared state.
    const auto state = std::make_shared<Shared>(std::move(keys));
    Shared& shared = *state;
    pollfd fds[2] = {{listen_fd, POLLIN, 0}, {signal_fd, POLLIN, 0}};
    while (!shared.stopping) {
        if (::poll(fds, 2, -1) < 0) {
            if (errno == EINTR) continue;
            log_error("poll failed: {}", std::strerror(errno));
            return 1;
        }
        if (fds[1].revents & POLLIN) {
            signalfd_siginfo info{};
            while (::read(signal_fd, &info, sizeof info) == static_cast<ssize_t>(sizeof info)) {
                if (info.ssi_signo == SIGHUP) {
                    log_info("SIGHUP: re-reading the DKIM snapshot and keys");
                    shared.keys->request_reload();
                } else {
                    log_info("{}: finishing the messages in flight, then exiting",
                             info.ssi_signo == SIGTERM ? "SIGTERM" : "SIGINT");
                    shared.stopping = true;
                }
            }
        }
        if (!shared.stopping && (fds[0].revents & POLLIN)) {
            const int fd = ::accept4(listen_fd, nullptr, nullptr, SOCK_CLOEXEC);
            if (fd < 0) {
                // Out of descriptors: the connection stays queued; pause
                // instead of polling the ready listener in a busy loop.
                if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
                    log_warning("accept failed: {}; pausing {} ms", std::strerror(errno), kAcceptPauseMs);
                    ::poll(nullptr, 0, kAcceptPauseMs);
                }
                continue;
            }
            std::lock_guard lock(shared.mutex);
            if (shared.active >= kMaxConnections) {
                log_warning("{} MTA connections are open already; refusing one more", kMaxConnections);
                ::close(fd);
                continue;
            }
            configure(fd);
            ++shared.active;
            std::thread([fd, state] {
                serve_connection(fd, *state);
                std::lock_guard done(state->mutex);
                if (--state->active == 0) state->all_closed.notify_all();
            }).detach();
        }
    }
    ::close(listen_fd);
    std::unique_lock lock(shared.mutex);
    if (!shared.all_closed.wait_for(lock, std::chrono::seconds(kDrainTimeoutSeconds), [&] { return shared.active == 0; }))
        log_warning("{} connection(s) still busy after {} s; exiting anyway", shared.active, kDrainTimeoutSeconds);
    return 0;
}

}  // namespace snm::milter
