// policyd_bench.cpp — the three halves of snm-policyd's benchmark
// (bench/policyd/run drives them, with `snmctl apply` and snm-policyd):
//
//   policyd_bench generate N FILE
//       writes an snm.toml of N accounts: account i is user<i>@d<i mod D>.example
//       (D = 1 + N/10000 domains), every even account has an alias
//       a<i>@<its domain>, and catchall.example is user0's catch-all.
//   policyd_bench echo NETSTRING_SPEC POLICY_SPEC
//       the ceiling: a trivial server on the same kind of socket that
//       answers each netstring with itself and each policy request (up to
//       its empty line) with "action=DUNNO" — no lookup, no parsing beyond
//       framing.
//   policyd_bench load SPEC socketmap|policy CONNECTIONS SECONDS N
//       CONNECTIONS persistent connections, each with one request in
//       flight (as each Postfix process has), for SECONDS; keys drawn at
//       random (fixed seed) from the population of `generate N`, a mix of
//       hits and misses over every table. Prints one line:
//       requests  req/s  p50_us  p99_us
//
// The load generator is one thread with epoll, so on a 2-core machine it
// and the server each get a core; the echo run on the same sockets gives
// the ceiling this arrangement allows, and results are read as ratios.
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fmt/format.h>
#include <fstream>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "netstring.hpp"
#include "socket_spec.hpp"

namespace {

using Clock = std::chrono::steady_clock;
constexpr std::size_t kKeyCount = 100'000;  // distinct requests prepared per run
constexpr std::size_t kAccountsPerDomain = 10'000;
// A valid SHA512-CRYPT hash (never checked: policyd sees no passwords).
constexpr const char* kHash =
    "$6$/z4n8AQl6K$kiOkBTWlZfBd7PvF5GsJ8PmPgdZsFGN1jPGZufxxr60PoR0oUsrvzm2oQiflyz5ir9fFJ.d/zKm/NgLXNUsNX/";

struct Population {
    std::size_t accounts;
    std::size_t domains() const { return 1 + accounts / kAccountsPerDomain; }
    std::string account(std::size_t i) const { return fmt::format("user{}@d{}.example", i, i % domains()); }
    std::string alias(std::size_t i) const { return fmt::format("a{}@d{}.example", i, i % domains()); }  // i even
};

int generate(std::size_t n, const std::string& path) {
    const Population p{n};
    std::FILE* out = std::fopen(path.c_str(), "w");
    if (!out) return 1;
    fmt::print(out, "fqdn = \"mail.bench.example\"\nrecipientDelimiter = \"+\"\ndomains = [\"catchall.example\"");
    for (std::size_t d = 0; d < p.domains(); ++d) fmt::print(out, ", \"d{}.example\"", d);
    fmt::print(out, "]\n");
    for (std::size_t i = 0; i < n; ++i) {
        fmt::print(out, "[loginAccounts.\"{}\"]\nhashedPassword = \"{}\"\n", p.account(i), kHash);
        if (i == 0) fmt::print(out, "catchAll = [\"catchall.example\"]\n");
        if (i % 2 == 0) fmt::print(out, "aliases = [\"{}\"]\n", p.alias(i));
    }
    return std::fclose(out) == 0 ? 0 : 1;
}

// The requests of one run, ready to send.
std::vector<std::string> prepare(const std::string& kind, std::size_t n) {
    const Population p{n};
    std::mt19937_64 random(42);
    std::uniform_int_distribution<std::size_t> pick(0, n - 1);
    std::vector<std::string> requests;
    for (std::size_t k = 0; k < kKeyCount; ++k) {
        const std::size_t i = pick(random), even = i & ~std::size_t{1};
        std::string payload;
        if (kind == "socketmap") {
            switch (k % 6) {
                case 0: payload = "mailboxes " + p.account(i); break;
                case 1: payload = "aliases " + p.alias(even); break;                          // alias hit
                case 2: payload = fmt::format("aliases nobody{}@d{}.example", i, i % p.domains()); break;  // miss
                case 3: payload = fmt::format("aliases x{}@catchall.example", i); break;       // catch-all
                case 4: payload = fmt::format("domains d{}.example", i % p.domains()); break;
                default: payload = "senders " + p.alias(even); break;
            }
            std::string framed;
            snm::policyd::append_netstring(framed, payload);
            requests.push_back(std::move(framed));
        } else {
            const bool sender_context = k % 2 == 0;
            requests.push_back(fmt::format(
                "request=smtpd_access_policy\nprotocol_state=RCPT\nprotocol_name=ESMTP\n"
                "client_address=192.0.2.1\nclient_name=client.example.net\nhelo_name=client.example.net\n"
                "queue_id=\ninstance=1.2.3\nsender={}\nrecipient={}\nrecipient_count=0\nsasl_method={}\n"
                "sasl_username={}\nsize=0\npolicy_context={}\n\n",
                p.account(i), p.alias(even), sender_context ? "plain" : "", sender_context ? p.account(i) : "",
                sender_context ? "sender" : "recipient"));
        }
    }
    return requests;
}

// Whether `buffer` starts with one whole reply; its length in `length`.
bool reply_complete(bool socketmap, const std::string& buffer, std::size_t& length) {
    if (socketmap) {
        const auto decoded = snm::policyd::decode_netstring(buffer, 1 << 20);
        if (decoded.status != snm::policyd::NetstringDecoded::Status::Complete) return false;
        length = decoded.consumed;
        return true;
    }
    const auto end = buffer.find("\n\n");
    if (end == std::string::npos) return false;
    length = end + 2;
    return true;
}

int load(const std::string& spec_text, const std::string& kind, std::size_t connections, double seconds,
         std::size_t n) {
    auto spec = snm::parse_socket_spec(spec_text);
    if (!spec) { fmt::print(stderr, "{}\n", spec.error().message); return 1; }
    const bool socketmap = kind == "socketmap";
    const auto requests = prepare(kind, n);
    struct Client { int fd; std::string in; Clock::time_point sent; std::size_t next; };
    std::vector<Client> clients(connections);
    const int epoll_fd = ::epoll_create1(0);
    std::vector<double> latencies;
    latencies.reserve(4'000'000);
    const auto send_next = [&](Client& c) {
        const auto& r = requests[c.next++ % requests.size()];
        c.sent = Clock::now();
        if (::send(c.fd, r.data(), r.size(), MSG_NOSIGNAL) != static_cast<ssize_t>(r.size())) std::abort();
    };
    for (std::size_t i = 0; i < connections; ++i) {
        auto fd = snm::connect_to(*spec);
        if (!fd) { fmt::print(stderr, "{}\n", fd.error().message); return 1; }
        clients[i] = Client{*fd, {}, {}, i * 7919};
        epoll_event event{};
        event.events = EPOLLIN;
        event.data.u64 = i;
        ::epoll_ctl(epoll_fd, EPOLL_CTL_ADD, *fd, &event);
    }
    const auto start = Clock::now();
    const auto deadline = start + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(seconds));
    for (auto& c : clients) send_next(c);
    std::vector<epoll_event> events(connections);
    char chunk[65536];
    bool running = true;
    while (running) {
        const int count = ::epoll_wait(epoll_fd, events.data(), static_cast<int>(events.size()), 1000);
        const auto now = Clock::now();
        if (now >= deadline) running = false;
        for (int e = 0; e < count; ++e) {
            auto& c = clients[events[e].data.u64];
            const ssize_t got = ::read(c.fd, chunk, sizeof chunk);
            if (got <= 0) { fmt::print(stderr, "server closed a connection\n"); return 1; }
            c.in.append(chunk, static_cast<std::size_t>(got));
            std::size_t length = 0;
            while (reply_complete(socketmap, c.in, length)) {
                if (c.in.compare(0, socketmap ? 0 : 7, socketmap ? "" : "action=") != 0) std::abort();
                c.in.erase(0, length);
                latencies.push_back(std::chrono::duration<double, std::micro>(now - c.sent).count());
                if (running) send_next(c);
            }
        }
    }
    const double elapsed = std::chrono::duration<double>(Clock::now() - start).count();
    std::sort(latencies.begin(), latencies.end());
    const auto percentile = [&](double q) { return latencies.empty() ? 0.0 : latencies[static_cast<std::size_t>(q * (latencies.size() - 1))]; };
    fmt::print("{}\t{:.0f}\t{:.1f}\t{:.1f}\n", latencies.size(), latencies.size() / elapsed, percentile(0.5),
               percentile(0.99));
    for (auto& c : clients) ::close(c.fd);
    return 0;
}

int echo(const std::string& netstring_spec, const std::string& policy_spec) {
    std::vector<int> listeners;
    for (const auto& text : {netstring_spec, policy_spec}) {
        auto spec = snm::parse_socket_spec(text);
        if (!spec) { fmt::print(stderr, "{}\n", spec.error().message); return 1; }
        auto fd = snm::listen_on(*spec, {0666, 1024, true});
        if (!fd) { fmt::print(stderr, "{}\n", fd.error().message); return 1; }
        listeners.push_back(*fd);
    }
    const int epoll_fd = ::epoll_create1(0);
    // data.u64: fd in the low half, bit 32: policy framing, bit 33: a listener.
    for (std::size_t i = 0; i < listeners.size(); ++i) {
        epoll_event event{};
        event.events = EPOLLIN;
        event.data.u64 = static_cast<std::uint64_t>(listeners[i]) | (std::uint64_t{i} << 32) | (std::uint64_t{1} << 33);
        ::epoll_ctl(epoll_fd, EPOLL_CTL_ADD, listeners[i], &event);
    }
    std::vector<std::string> buffers(65536);
    epoll_event events[256];
    char chunk[65536];
    for (;;) {
        const int count = ::epoll_wait(epoll_fd, events, 256, -1);
        for (int e = 0; e < count; ++e) {
            const int fd = static_cast<int>(events[e].data.u64 & 0xffffffff);
            const bool policy = events[e].data.u64 & (std::uint64_t{1} << 32);
            if (events[e].data.u64 & (std::uint64_t{1} << 33)) {
                const int client = ::accept4(fd, nullptr, nullptr, SOCK_NONBLOCK);
                if (client < 0 || client >= static_cast<int>(buffers.size())) { if (client >= 0) ::close(client); continue; }
                epoll_event event{};
                event.events = EPOLLIN;
                event.data.u64 = static_cast<std::uint64_t>(client) | (policy ? std::uint64_t{1} << 32 : 0);
                ::epoll_ctl(epoll_fd, EPOLL_CTL_ADD, client, &event);
                continue;
            }
            const ssize_t got = ::read(fd, chunk, sizeof chunk);
            if (got <= 0) { ::close(fd); buffers[fd].clear(); continue; }
            auto& in = buffers[fd];
            in.append(chunk, static_cast<std::size_t>(got));
            std::string out;
            std::size_t length = 0;
            while (reply_complete(!policy, in, length)) {
                if (policy) out.append("action=DUNNO\n\n"); else out.append(in, 0, length);
                in.erase(0, length);
            }
            if (!out.empty()) (void)!::send(fd, out.data(), out.size(), MSG_NOSIGNAL);
        }
    }
}

}  // namespace

int main(int argc, char** argv) {
    const std::vector<std::string> args(argv + 1, argv + argc);
    if (args.size() == 3 && args[0] == "generate") return generate(std::stoul(args[1]), args[2]);
    if (args.size() == 3 && args[0] == "echo") return echo(args[1], args[2]);
    if (args.size() == 6 && args[0] == "load")
        return load(args[1], args[2], std::stoul(args[3]), std::stod(args[4]), std::stoul(args[5]));
    std::fputs("usage: policyd_bench generate N FILE | echo NETSTRING_SPEC POLICY_SPEC |\n"
               "       load SPEC socketmap|policy CONNECTIONS SECONDS N\n", stderr);
    return 2;
}
