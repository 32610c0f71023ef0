// milter_load.cpp — a milter-protocol load generator that behaves like
// Postfix's milter8 client, for benchmarking DKIM signing milters
// (snm-dkim-milter and OpenDKIM side by side; see RESULTS.md).
//
//   milter-load --socket SPEC --connections N --messages M --body-bytes B
//               [--seconds S] [--from ADDR] [--auth USER] [--client-ip IP]
//
// Each of N threads opens one connection (no TCP_NODELAY, as Postfix),
// negotiates protocol 6 offering every step flag, then sends M/N messages
// back to back (or as many as fit in S seconds). Like Postfix it writes every event as its own write, skips
// the events the milter negotiated away (SMFIP_NO*), waits for a reply only
// where the milter did not waive it (SMFIP_NR_*), and sends body chunks of
// at most 65535 bytes. A message counts only if a DKIM-Signature header
// insertion came back before the final reply. Prints one line:
//   messages=… seconds=… msgs_per_s=… p50_ms=… p99_ms=… max_ms=… signed=… failed=…
// Latency is from the first event of a message to its final reply.
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <fmt/format.h>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "socket_spec.hpp"

namespace {

using Clock = std::chrono::steady_clock;

// Protocol constants (libmilter's mfdef.h values).
constexpr std::uint32_t kNoConnect = 0x1, kNoHelo = 0x2, kNoMail = 0x4, kNoRcpt = 0x8, kNoBody = 0x10,
                        kNoHeaders = 0x20, kNoEoh = 0x40, kNrHeader = 0x80, kNoData = 0x200, kNrConnect = 0x1000,
                        kNrHelo = 0x2000, kNrMail = 0x4000, kNrRcpt = 0x8000, kNrData = 0x10000, kNrEoh = 0x40000,
                        kNrBody = 0x80000, kLeadingSpace = 0x100000;
constexpr std::uint32_t kOfferedSteps = 0x1FFFFF;  // Postfix 3.7 offers every protocol-6 step flag
constexpr std::uint32_t kOfferedActions = 0x1FF;
constexpr std::size_t kChunk = 65535;               // Postfix's body chunk size

struct Options {
    std::string socket;
    int connections = 1;
    long messages = 1000;
    std::size_t body_bytes = 1024;
    std::string from = "user@example.com";
    std::string auth = "user@example.com";
    std::string client_ip = "127.0.0.1";
    double seconds = 0;  // > 0: send until this much time has passed, ignoring --messages
};

class Connection {
public:
    explicit Connection(int fd) : fd_(fd) {}
    ~Connection() { ::close(fd_); }

    bool send(char command, std::string_view data) {
        packet_.clear();
        const auto length = static_cast<std::uint32_t>(data.size() + 1);
        const char header[5] = {static_cast<char>(length >> 24), static_cast<char>(length >> 16),
                                static_cast<char>(length >> 8), static_cast<char>(length), command};
        packet_.append(header, 5).append(data);
        std::size_t done = 0;
        while (done < packet_.size()) {
            const ssize_t n = ::send(fd_, packet_.data() + done, packet_.size() - done, MSG_NOSIGNAL);
            if (n <= 0) return false;
            done += static_cast<std::size_t>(n);
        }
        return true;
    }

    // Reads one packet into command/data; false on EOF or error.
    bool read(char& command, std::string& data) {
        while (true) {
            if (buffer_.size() - start_ >= 4) {
                const auto* b = reinterpret_cast<const unsigned char*>(buffer_.data() + start_);
                const std::uint32_t length = (std::uint32_t{b[0]} << 24) | (b[1] << 16) | (b[2] << 8) | b[3];
                if (buffer_.size() - start_ >= 4 + length && length >= 1) {
                    command = buffer_[start_ + 4];
                    data.assign(buffer_, start_ + 5, length - 1);
                    start_ += 4 + length;
                    if (start_ == buffer_.size()) {
                        buffer_.clear();
                        start_ = 0;
                    }
                    return true;
                }
            }
            char chunk[16384];
            const ssize_t n = ::recv(fd_, chunk, sizeof chunk, 0);
            if (n <= 0) return false;
            buffer_.append(chunk, static_cast<std::size_t>(n));
        }
    }

private:
    int fd_;
    std::string packet_, buffer_;
    std::size_t start_ = 0;
};

std::string z(std::initializer_list<std::string_view> parts) {
    std::string out;
    for (auto p : parts) out.append(p).push_back('\0');
    return out;
}

std::string u32(std::uint32_t v) {
    return {static_cast<char>(v >> 24), static_cast<char>(v >> 16), static_cast<char>(v >> 8), static_cast<char>(v)};
}

struct Totals {
    std::mutex mutex;
    std::vector<double> latencies_ms;
    long signed_ok = 0;
    long failed = 0;
};

std::string make_body(std::size_t size) {
    static const std::string line = "The quick brown fox jumps over the lazy dog. 0123456789 abcdefghij\r\n";
    std::string body;
    body.reserve(size + line.size());
    while (body.size() < size) body += line;
    body.resize(size);
    if (size >= 2) body.replace(size - 2, 2, "\r\n");
    return body;
}

void run_connection(const Options& options, const snm::SocketSpec& spec, long messages, const std::string& body,
                    Clock::time_point deadline, Totals& totals) {
    std::vector<double> latencies;
    latencies.reserve(static_cast<std::size_t>(messages));
    long signed_ok = 0, failed = 0;
    auto fd = snm::connect_to(spec);
    if (!fd) {
        fmt::print(stderr, "connect: {}\n", fd.error().message);
        std::lock_guard lock(totals.mutex);
        totals.failed += messages;
        return;
    }
    Connection conn(*fd);
    char command = 0;
    std::string data;
    conn.send('O', u32(6) + u32(kOfferedActions) + u32(kOfferedSteps));
    if (!conn.read(command, data) || command != 'O' || data.size() < 12) {
        fmt::print(stderr, "negotiation failed\n");
        return;
    }
    const auto* p = reinterpret_cast<const unsigned char*>(data.data() + 8);
    const std::uint32_t steps = (std::uint32_t{p[0]} << 24) | (p[1] << 16) | (p[2] << 8) | p[3];
    const auto event = [&](char cmd, std::string_view payload, std::uint32_t skip, std::uint32_t no_reply) {
        if (steps & skip) return true;
        if (!conn.send(cmd, payload)) return false;
        if (steps & no_reply) return true;
        return conn.read(command, data) && command == 'c';
    };
    const std::string lead = (steps & kLeadingSpace) ? " " : "";
    const std::string port_bytes = {static_cast<char>(25 >> 8), static_cast<char>(25 & 0xff)};
    bool ok = event('C', z({"client.example.net"}) + "4" + port_bytes + z({options.client_ip}), kNoConnect, kNrConnect) &&
              event('H', z({"client.example.net"}), kNoHelo, kNrHelo);
    const bool timed = options.seconds > 0;
    for (long i = 0; ok && (timed ? Clock::now() < deadline : i < messages); ++i) {
        const auto start = Clock::now();
        const std::string qid = fmt::format("Q{:X}T{}", i, static_cast<unsigned long>(std::hash<std::thread::id>{}(std::this_thread::get_id()) & 0xffff));
        if (!(steps & kNoMail)) conn.send('D', "M" + z({"i", qid, "{auth_authen}", options.auth}));
        ok = event('M', z({"<" + options.from + ">"}), kNoMail, kNrMail) &&
             event('R', z({"<rcpt@example.org>"}), kNoRcpt, kNrRcpt) && event('T', "", kNoData, kNrData);
        const std::pair<const char*, std::string> headers[] = {
            {"From", "Sender <" + options.from + ">"},
            {"To", "Recipient <rcpt@example.org>"},
            {"Subject", fmt::format("benchmark message {}", i)},
            {"Date", "Tue, 1 Apr 2025 10:00:00 +0000"},
            {"Message-ID", fmt::format("<{}@example.com>", qid)},
            {"MIME-Version", "1.0"},
            {"Content-Type", "text/plain; charset=us-ascii"},
        };
        for (const auto& [name, value] : headers)
            ok = ok && event('L', z({name, lead + value}), kNoHeaders, kNrHeader);
        ok = ok && event('N', "", kNoEoh, kNrEoh);
        for (std::size_t at = 0; ok && at < body.size() && !(steps & kNoBody); at += kChunk)
            ok = event('B', std::string_view(body).substr(at, kChunk), kNoBody, kNrBody);
        ok = ok && conn.send('D', "E" + z({"i", qid})) && conn.send('E', "");
        bool has_signature = false;
        while (ok) {
            if (!conn.read(command, data)) {
                ok = false;
                break;
            }
            if (command == 'i' || command == 'h') {
                const auto name_at = command == 'i' ? 4 : 0;
                if (data.compare(name_at, 15, std::string("DKIM-Signature\0", 15)) == 0) has_signature = true;
                continue;
            }
            if (command == 'p') continue;
            break;
        }
        latencies.push_back(std::chrono::duration<double, std::milli>(Clock::now() - start).count());
        if (ok && (command == 'c' || command == 'a') && has_signature) ++signed_ok;
        else ++failed;
    }
    conn.send('Q', "");
    std::lock_guard lock(totals.mutex);
    totals.latencies_ms.insert(totals.latencies_ms.end(), latencies.begin(), latencies.end());
    totals.signed_ok += signed_ok;
    if (!timed) failed += messages - static_cast<long>(latencies.size());  // never sent: the connection broke
    totals.failed += failed;
}

}  // namespace

int main(int argc, char** argv) {
    Options options;
    for (int i = 1; i + 1 < argc; i += 2) {
        const std::string_view name = argv[i];
        const std::string value = argv[i + 1];
        if (name == "--socket") options.socket = value;
        else if (name == "--connections") options.connections = std::stoi(value);
        else if (name == "--messages") options.messages = std::stol(value);
        else if (name == "--body-bytes") options.body_bytes = std::stoul(value);
        else if (name == "--from") options.from = value;
        else if (name == "--auth") options.auth = value;
        else if (name == "--client-ip") options.client_ip = value;
        else if (name == "--seconds") options.seconds = std::stod(value);
        else {
            fmt::print(stderr, "milter-load: unknown option {}\n", name);
            return 2;
        }
    }
    auto spec = snm::parse_socket_spec(options.socket);
    if (!spec) {
        fmt::print(stderr, "milter-load: {}\n", spec.error().message);
        return 2;
    }
    const std::string body = make_body(options.body_bytes);
    Totals totals;
    std::vector<std::thread> threads;
    const auto start = Clock::now();
    const auto deadline = start + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(options.seconds));
    for (int c = 0; c < options.connections; ++c) {
        const long share = options.messages / options.connections + (c < options.messages % options.connections ? 1 : 0);
        threads.emplace_back(run_connection, std::cref(options), std::cref(*spec), share, std::cref(body), deadline, std::ref(totals));
    }
    for (auto& t : threads) t.join();
    const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
    auto& l = totals.latencies_ms;
    std::sort(l.begin(), l.end());
    const auto pct = [&](double q) { return l.empty() ? 0.0 : l[std::min(l.size() - 1, static_cast<std::size_t>(q * l.size()))]; };
    fmt::print("messages={} seconds={:.3f} msgs_per_s={:.1f} p50_ms={:.3f} p99_ms={:.3f} max_ms={:.3f} signed={} failed={}\n",
               l.size(), seconds, static_cast<double>(l.size()) / seconds, pct(0.50), pct(0.99), l.empty() ? 0.0 : l.back(),
               totals.signed_ok, totals.failed);
    return totals.failed == 0 ? 0 : 1;
}
