// controller_client.cpp — see controller_client.hpp.
#include "controller_client.hpp"

#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <fmt/format.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <fstream>
#include <utility>

namespace snm::sieve {

namespace {

using Clock = std::chrono::steady_clock;

// A connection closed before any reply (a controller worker restarting) is
// retried once, within the same deadline; a repeated learn is harmless
// (rspamd answers "already learned").
constexpr int kConnectionAttempts = 2;
// Longest piece of rspamd's error text quoted in a message.
constexpr std::size_t kMaxQuotedErrorBytes = 300;

// A socket closed when it goes out of scope.
class Socket {
public:
    explicit Socket(int fd) : fd_(fd) {}
    Socket(Socket&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}
    Socket& operator=(Socket&&) = delete;
    ~Socket() {
        if (fd_ >= 0) ::close(fd_);
    }
    int fd() const { return fd_; }

private:
    int fd_;
};

// A point in time every step of one exchange must finish by.
class Deadline {
public:
    explicit Deadline(std::chrono::milliseconds budget) : budget_(budget), end_(Clock::now() + budget) {}
    // Milliseconds left for poll(), at least 0.
    int remaining_ms() const {
        const auto left = std::chrono::ceil<std::chrono::milliseconds>(end_ - Clock::now()).count();
        return static_cast<int>(std::max<decltype(left)>(left, 0));
    }
    Error expired(const SocketSpec& spec, std::string_view doing) const {
        return Error{fmt::format("rspamd controller {} timed out after {} ms while {}", spec.text, budget_.count(),
                                 doing),
                     true};
    }

private:
    std::chrono::milliseconds budget_;
    Clock::time_point end_;
};

Error system_error(const SocketSpec& spec, std::string_view doing, int saved_errno) {
    return Error{fmt::format("rspamd controller {}: {} failed: {}", spec.text, doing, std::strerror(saved_errno)), true};
}

// Waits until `fd` is ready for `events`; false when the deadline passed.
Result<bool> wait_ready(int fd, short events, const Deadline& deadline, const SocketSpec& spec) {
    for (;;) {
        pollfd p{fd, events, 0};
        const int rc = ::poll(&p, 1, deadline.remaining_ms());
        if (rc > 0) return true;
        if (rc == 0) return false;
        if (errno != EINTR) return system_error(spec, "poll", errno);
    }
}

// A connect bounded by what is left of the deadline; the socket stays
// non-blocking, as send_all and read_reply expect.
Result<Socket> connect_before(const SocketSpec& spec, const Deadline& deadline) {
    auto fd = connect_to(spec, std::chrono::milliseconds(deadline.remaining_ms()),
                         ConnectOptions{.peer = "rspamd controller", .nonblocking = true});
    if (!fd) return fd.error();
    return Socket(*fd);
}

// Sends all of `data`. Returns false (not an error) when the peer stopped
// reading: it may have answered already (e.g. a refusal before the body).
Result<bool> send_all(int fd, std::string_view data, const Deadline& deadline, const SocketSpec& spec) {
    while (!data.empty()) {
        const ssize_t n = ::send(fd, data.data(), data.size(), MSG_NOSIGNAL);
        if (n > 0) {
            data.remove_prefix(static_cast<std::size_t>(n));
            continue;
        }
        if (n < 0 && errno == EINTR) continue;
        if (n < 0 && (errno == EPIPE || errno == ECONNRESET)) return false;
        if (n < 0 && errno != EAGAIN) return system_error(spec, "send", errno);
        auto ready = wait_ready(fd, POLLOUT, deadline, spec);
        if (!ready) return ready.error();
        if (!*ready) return deadline.expired(spec, "sending the message");
    }
    return true;
}

// The reply, or std::nullopt when the peer closed the connection before
// sending a single byte of it (a broken connection, worth one retry).
Result<std::optional<HttpResponse>> read_reply(int fd, const Deadline& deadline, const SocketSpec& spec) {
    std::string received;
    char buffer[8192];
    for (;;) {
        auto ready = wait_ready(fd, POLLIN, deadline, spec);
        if (!ready) return ready.error();
        if (!*ready) return deadline.expired(spec, "waiting for the reply");
        const ssize_t n = ::recv(fd, buffer, sizeof buffer, 0);
        if (n < 0 && (errno == EINTR || errno == EAGAIN)) continue;
        if (n < 0 && errno != ECONNRESET) return system_error(spec, "recv", errno);
        const bool at_eof = n <= 0;
        if (at_eof && received.empty()) return std::optional<HttpResponse>{};
        if (n > 0) received.append(buffer, static_cast<std::size_t>(n));
        if (received.size() > kMaxReplyBytes)
            return Error{fmt::format("rspamd controller {} sent a reply larger than {} bytes", spec.text, kMaxReplyBytes)};
        auto parsed = parse_http_response(received, at_eof);
        if (!parsed)
            return Error{fmt::format("rspamd controller {}: {}", spec.text, parsed.error().message), at_eof};
        if (*parsed) return parsed;
    }
}

// One connection: the request head, the message, the reply (std::nullopt:
// closed without a reply).
Result<std::optional<HttpResponse>> exchange(const SocketSpec& spec, std::string_view head, std::string_view message,
                                             const Deadline& deadline) {
    auto socket = connect_before(spec, deadline);
    if (!socket) return socket.error();
    auto sent = send_all(socket->fd(), head, deadline, spec);
    if (sent && *sent) sent = send_all(socket->fd(), message, deadline, spec);
    if (!sent) return sent.error();
    return read_reply(socket->fd(), deadline, spec);
}

// The raw JSON value of a top-level `"key":` in rspamd's flat replies
// ({"success":true}, {"error":"text"}): a string's unescaped text, or the
// literal (true/false/number) as written. Not a general JSON parser.
std::optional<std::string> json_field(std::string_view body, std::string_view key) {
    const auto quoted = fmt::format("\"{}\"", key);
    auto at = body.find(quoted);
    if (at == std::string_view::npos) return std::nullopt;
    auto rest = body.substr(at + quoted.size());
    const auto skip_blanks = [&] {
        while (!rest.empty() && std::strchr(" \t\r\n", rest.front()) != nullptr) rest.remove_prefix(1);
    };
    skip_blanks();
    if (rest.empty() || rest.front() != ':') return std::nullopt;
    rest.remove_prefix(1);
    skip_blanks();
    std::string value;
    if (!rest.empty() && rest.front() == '"') {
        for (std::size_t i = 1; i < rest.size(); ++i) {
            if (rest[i] == '"') return value;
            if (rest[i] == '\\' && i + 1 < rest.size()) ++i;
            value += rest[i];
        }
        return std::nullopt;  // unterminated string
    }
    while (!rest.empty() && std::strchr(",} \t\r\n", rest.front()) == nullptr) {
        value += rest.front();
        rest.remove_prefix(1);
    }
    return value;
}

std::string quoted_error(const HttpResponse& reply) {
    auto text = json_field(reply.body, "error").value_or(reply.reason);
    if (text.size() > kMaxQuotedErrorBytes) text.resize(kMaxQuotedErrorBytes);
    for (auto& c : text)
        if (static_cast<unsigned char>(c) < 0x20) c = ' ';
    return text;
}

}  // namespace

std::optional<MessageClass> parse_message_class(std::string_view text) {
    if (text == "spam") return MessageClass::Spam;
    if (text == "ham") return MessageClass::Ham;
    return std::nullopt;
}

std::string_view message_class_name(MessageClass message_class) {
    return message_class == MessageClass::Spam ? "spam" : "ham";
}

Result<std::chrono::milliseconds> parse_timeout(std::string_view text) {
    const auto bad = [&] {
        return Error{fmt::format("timeout `{}` is not a duration like 500ms, 5s or 1m (at most {} ms)", text,
                                 kMaxControllerTimeout.count())};
    };
    unsigned long long number = 0;
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), number);
    if (ec != std::errc{} || end == text.data()) return bad();
    const std::string_view unit(end, static_cast<std::size_t>(text.data() + text.size() - end));
    unsigned long long factor = 0;
    if (unit.empty() || unit == "s") factor = 1000;
    else if (unit == "ms") factor = 1;
    else if (unit == "m") factor = 60000;
    else return bad();
    if (number == 0 || number > static_cast<unsigned long long>(kMaxControllerTimeout.count()) / factor) return bad();
    return std::chrono::milliseconds(number * factor);
}

Result<std::string> read_password_file(const std::string& path) {
    if (path.empty()) return std::string();
    std::ifstream in(path, std::ios::binary);
    if (!in) return Error{fmt::format("cannot read rspamd controller password file {}: {}", path, std::strerror(errno))};
    std::string content(kMaxPasswordFileBytes + 1, '\0');
    in.read(content.data(), static_cast<std::streamsize>(content.size()));
    content.resize(static_cast<std::size_t>(in.gcount()));
    if (content.size() > kMaxPasswordFileBytes)
        return Error{fmt::format("rspamd controller password file {} is larger than {} bytes; it must hold the password "
                                 "on one line",
                                 path, kMaxPasswordFileBytes)};
    std::string_view line(content);
    line = line.substr(0, line.find('\n'));
    while (!line.empty() && std::strchr(" \t\r", line.back()) != nullptr) line.remove_suffix(1);
    while (!line.empty() && std::strchr(" \t", line.front()) != nullptr) line.remove_prefix(1);
    if (std::any_of(line.begin(), line.end(), [](char c) { return static_cast<unsigned char>(c) < 0x20; }))
        return Error{fmt::format("rspamd controller password in {} contains control characters", path)};
    return std::string(line);
}

Result<ControllerSettings> make_controller_settings(std::string_view controller, const std::string& password_file,
                                                    std::string_view timeout) {
    ControllerSettings settings;
    auto spec = parse_socket_spec(controller);
    if (!spec) return Error{fmt::format("rspamd controller: {}", spec.error().message)};
    settings.controller = std::move(*spec);
    if (!timeout.empty()) {
        auto parsed = parse_timeout(timeout);
        if (!parsed) return parsed.error();
        settings.timeout = *parsed;
    }
    auto password = read_password_file(password_file);
    if (!password) return password.error();
    settings.password = std::move(*password);
    return settings;
}

std::string format_learn_request(const ControllerSettings& settings, MessageClass message_class,
                                 std::string_view user, std::size_t message_size) {
    std::string request = fmt::format(
        "POST /learn{} HTTP/1.1\r\nHost: localhost\r\nUser-Agent: snm/" SNM_VERSION "\r\nConnection: close\r\n"
        "Content-Length: {}\r\n",
        message_class_name(message_class), message_size);
    if (!settings.password.empty()) request += fmt::format("Password: {}\r\n", settings.password);
    if (!user.empty()) request += fmt::format("Deliver-To: {}\r\n", user);
    request += "\r\n";
    return request;
}

Result<LearnOutcome> interpret_learn_reply(const HttpResponse& reply) {
    const auto error = quoted_error(reply);
    switch (reply.status) {
    case 200:
        if (json_field(reply.body, "success") == "true") return LearnOutcome::Learned;
        return Error{fmt::format("rspamd controller answered 200 without success: {}", error)};
    case 208:
        return LearnOutcome::AlreadyLearned;
    case 404:
        if (error.find("already learned") != std::string::npos) return LearnOutcome::AlreadyLearned;
        break;
    case 401:
    case 403:
        return Error{fmt::format("rspamd controller refused access (HTTP {}: {}); check the controller password",
                                 reply.status, error)};
    default:
        break;
    }
    return Error{fmt::format("rspamd did not learn the message (HTTP {}: {})", reply.status, error),
                 reply.status >= 500};
}

Result<LearnOutcome> learn_message(const ControllerSettings& settings, MessageClass message_class,
                                   std::string_view message, std::string_view user) {
    if (message.empty()) return Error{"an empty message cannot be learned"};
    if (message.size() > kMaxMessageBytes)
        return Error{fmt::format("message of {} bytes is larger than the {} bytes rspamd accepts", message.size(),
                                 kMaxMessageBytes)};
    if (user.find_first_of("\r\n") != std::string_view::npos) return Error{"user name contains a line break"};
    const Deadline deadline(settings.timeout);
    const auto head = format_learn_request(settings, message_class, user, message.size());
    for (int attempt = 1;; ++attempt) {
        auto reply = exchange(settings.controller, head, message, deadline);
        if (!reply) return reply.error();
        if (*reply) return interpret_learn_reply(**reply);
        if (attempt == kConnectionAttempts)
            return Error{fmt::format("rspamd controller {} closed the connection without a reply ({} attempts)",
                                     settings.controller.text, kConnectionAttempts),
                         true};
    }
}

}  // namespace snm::sieve
