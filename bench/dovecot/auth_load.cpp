// auth_load.cpp — load generator for Dovecot's auth sockets, driven by
// bench/dovecot/run. Speaks Dovecot's own protocols, as its clients do:
//
//   dovecot_auth_load userdb SOCKET [options]   auth-userdb: VERSION 1 0, then
//                                               USER <id> <user> service=imap
//   dovecot_auth_load plain SOCKET [options]    auth-client: VERSION 1 2, CPID
//                                               (distinct per connection), then
//                                               AUTH <id> PLAIN ... resp=<b64>
// options:
//   --users N          accounts are user<i>@bench.example, i random in [0, N)
//   --password P       for plain (default "secret")
//   --connections C    parallel connections, one thread each (default 4)
//   --window W         requests in flight per connection (default 16)
//   --seconds S        run time (default 5)
//   --replace FROM TO AT   rename(FROM, TO) AT seconds into the run; then
//                      report latencies before and after AT separately, and
//                      when a probe for user0 (every 10 ms, userdb only)
//                      first answered with a reply containing --expect TEXT.
//
// Prints one JSON object: requests, ok, failed, rate (answers/s), latency
// percentiles in microseconds (whole run, before and after a replacement), the probe
// result. Never asserts anything: it measures.
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <optional>
#include <random>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include <fmt/format.h>

namespace {

using Clock = std::chrono::steady_clock;

// A request id slot per in-flight request; the window never exceeds it.
constexpr unsigned kMaxWindow = 1024;
// How often the probe asks for user0 while a replacement is pending.
constexpr auto kProbeInterval = std::chrono::milliseconds(10);
// Longest reply line accepted.
constexpr std::size_t kMaxLine = 65536;

struct Options {
    std::string mode, socket;
    unsigned long users = 100000;
    std::string password = "secret";
    unsigned connections = 4, window = 16;
    double seconds = 5;
    std::string replace_from, replace_to, expect;
    double replace_at = -1;
};

struct Sample {
    float at;  // seconds since start
    std::uint32_t micros;
};

struct Shared {
    Clock::time_point start;
    std::atomic<bool> stop{false};
    std::atomic<bool> replaced{false};
    std::atomic<double> replaced_at{-1};
    std::atomic<double> probe_changed_at{-1};
};

struct Tally {
    unsigned long ok = 0, failed = 0;
    std::vector<Sample> samples;
    std::string error;
};

double since(const Shared& shared, Clock::time_point t) {
    return std::chrono::duration<double>(t - shared.start).count();
}

std::string base64(std::string_view in) {
    static constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    std::string out;
    for (std::size_t i = 0; i < in.size(); i += 3) {
        const unsigned n = (static_cast<unsigned char>(in[i]) << 16) |
                           (i + 1 < in.size() ? static_cast<unsigned char>(in[i + 1]) << 8 : 0) |
                           (i + 2 < in.size() ? static_cast<unsigned char>(in[i + 2]) : 0);
        out += kAlphabet[(n >> 18) & 63];
        out += kAlphabet[(n >> 12) & 63];
        out += i + 1 < in.size() ? kAlphabet[(n >> 6) & 63] : '=';
        out += i + 2 < in.size() ? kAlphabet[n & 63] : '=';
    }
    return out;
}

class Connection {
public:
    explicit Connection(const std::string& path) {
        fd_ = ::socket(AF_UNIX, SOCK_STREAM, 0);
        sockaddr_un address{};
        address.sun_family = AF_UNIX;
        std::snprintf(address.sun_path, sizeof address.sun_path, "%s", path.c_str());
        if (::connect(fd_, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0) {
            ::close(fd_);
            fd_ = -1;
        }
    }
    ~Connection() {
        if (fd_ >= 0) ::close(fd_);
    }
    bool ok() const { return fd_ >= 0; }

    bool send(const std::string& data) {
        std::size_t done = 0;
        while (done < data.size()) {
            const auto n = ::write(fd_, data.data() + done, data.size() - done);
            if (n <= 0) return false;
            done += n;
        }
        return true;
    }
    // Next line without its newline; nullopt on EOF or error.
    std::optional<std::string_view> line() {
        while (true) {
            const auto newline = buffer_.find('\n', consumed_);
            if (newline != std::string::npos) {
                std::string_view line(buffer_.data() + consumed_, newline - consumed_);
                consumed_ = newline + 1;
                return line;
            }
            buffer_.erase(0, consumed_);
            consumed_ = 0;
            if (buffer_.size() > kMaxLine) return std::nullopt;
            char chunk[65536];
            const auto n = ::read(fd_, chunk, sizeof chunk);
            if (n <= 0) return std::nullopt;
            buffer_.append(chunk, n);
        }
    }
    bool buffered() const { return buffer_.find('\n', consumed_) != std::string::npos; }

private:
    int fd_ = -1;
    std::string buffer_;
    std::size_t consumed_ = 0;
};

void run_connection(const Options& options, unsigned index, Shared& shared, Tally& tally) {
    Connection connection(options.socket);
    if (!connection.ok()) {
        tally.error = fmt::format("cannot connect to {}", options.socket);
        return;
    }
    const bool userdb = options.mode == "userdb";
    const std::string done_line = userdb ? "SPID" : "DONE";
    connection.send(userdb ? "VERSION\t1\t0\n"
                           : fmt::format("VERSION\t1\t2\nCPID\t{}\n", ::getpid() * 64 + index));
    while (true) {
        auto line = connection.line();
        if (!line) {
            tally.error = "handshake failed";
            return;
        }
        if (line->starts_with(done_line)) break;
    }

    std::mt19937_64 random(index * 7919 + 1);
    std::uniform_int_distribution<unsigned long> pick(0, options.users - 1);
    std::vector<Clock::time_point> sent(kMaxWindow);
    std::vector<bool> probe(kMaxWindow);
    unsigned long next_id = 1, in_flight = 0;
    const bool probing = index == 0 && userdb && options.replace_at >= 0;
    auto next_probe = Clock::now();
    std::string out;

    const auto request = [&](unsigned long user, bool is_probe) {
        const unsigned long id = next_id++;
        sent[id % kMaxWindow] = Clock::now();
        probe[id % kMaxWindow] = is_probe;
        ++in_flight;
        if (userdb)
            out += fmt::format("USER\t{}\tuser{}@bench.example\tservice=imap\n", id, user);
        else
            out += fmt::format("AUTH\t{}\tPLAIN\tservice=imap\tsecured\tnologin\tresp={}\n", id,
                               base64(fmt::format("{}user{}@bench.example{}{}", '\0', user, '\0',
                                                  options.password)));
    };
    while (true) {
        const bool stopping = shared.stop.load(std::memory_order_relaxed);
        if (!stopping) {
            if (probing && Clock::now() >= next_probe && in_flight < options.window) {
                request(0, true);
                next_probe = Clock::now() + kProbeInterval;
            }
            while (in_flight < options.window) request(pick(random), false);
        }
        if (!out.empty() && !connection.send(out)) {
            tally.error = "write failed";
            return;
        }
        out.clear();
        if (in_flight == 0) return;
        do {
            auto line = connection.line();
            if (!line) {
                tally.error = "connection closed by Dovecot";
                return;
            }
            const auto tab = line->find('\t');
            if (tab == std::string_view::npos) continue;
            const auto verb = line->substr(0, tab);
            const unsigned long id = std::strtoul(line->data() + tab + 1, nullptr, 10);
            const auto now = Clock::now();
            --in_flight;
            const auto slot = id % kMaxWindow;
            const auto micros = std::chrono::duration_cast<std::chrono::microseconds>(now - sent[slot]).count();
            tally.samples.push_back({static_cast<float>(since(shared, now)), static_cast<std::uint32_t>(micros)});
            if (verb == "USER" || verb == "OK")
                ++tally.ok;
            else
                ++tally.failed;
            if (probe[slot] && shared.replaced && shared.probe_changed_at < 0 &&
                line->find(options.expect) != std::string_view::npos)
                shared.probe_changed_at = since(shared, now);
        } while (connection.buffered());
    }
}

struct Percentiles {
    std::size_t count = 0;
    double p50 = 0, p99 = 0, p999 = 0, max = 0;
};

Percentiles percentiles(std::vector<std::uint32_t> values) {
    Percentiles p;
    p.count = values.size();
    if (values.empty()) return p;
    std::sort(values.begin(), values.end());
    const auto at = [&](double q) { return double(values[std::min(values.size() - 1, std::size_t(q * values.size()))]); };
    p.p50 = at(0.5);
    p.p99 = at(0.99);
    p.p999 = at(0.999);
    p.max = values.back();
    return p;
}

std::string json(const Percentiles& p) {
    return fmt::format(R"({{"count": {}, "p50_us": {}, "p99_us": {}, "p999_us": {}, "max_us": {}}})", p.count, p.p50,
                       p.p99, p.p999, p.max);
}

int usage(const char* problem) {
    std::fprintf(stderr,
                 "dovecot_auth_load: %s\nusage: dovecot_auth_load userdb|plain SOCKET [--users N] [--password P] "
                 "[--connections C] [--window W] [--seconds S] [--replace FROM TO AT --expect TEXT]\n",
                 problem);
    return 2;
}

}  // namespace

int main(int argc, char** argv) {
    Options options;
    if (argc < 3) return usage("missing mode or socket");
    options.mode = argv[1];
    options.socket = argv[2];
    if (options.mode != "userdb" && options.mode != "plain") return usage("mode must be userdb or plain");
    for (int i = 3; i < argc; ++i) {
        const std::string_view arg = argv[i];
        const auto value = [&]() -> const char* { return i + 1 < argc ? argv[++i] : ""; };
        if (arg == "--users") options.users = std::strtoul(value(), nullptr, 10);
        else if (arg == "--password") options.password = value();
        else if (arg == "--connections") options.connections = std::strtoul(value(), nullptr, 10);
        else if (arg == "--window") options.window = std::strtoul(value(), nullptr, 10);
        else if (arg == "--seconds") options.seconds = std::strtod(value(), nullptr);
        else if (arg == "--expect") options.expect = value();
        else if (arg == "--replace") {
            options.replace_from = value();
            options.replace_to = value();
            options.replace_at = std::strtod(value(), nullptr);
        } else return usage("unknown option");
    }
    if (options.window == 0 || options.window > kMaxWindow || options.connections == 0 || options.users == 0)
        return usage("bad --window, --connections or --users");

    Shared shared;
    shared.start = Clock::now();
    std::vector<Tally> tallies(options.connections);
    std::vector<std::thread> threads;
    for (unsigned i = 0; i < options.connections; ++i)
        threads.emplace_back(run_connection, std::cref(options), i, std::ref(shared), std::ref(tallies[i]));

    const auto deadline = shared.start + std::chrono::duration<double>(options.seconds);
    if (options.replace_at >= 0) {
        std::this_thread::sleep_until(shared.start + std::chrono::duration<double>(options.replace_at));
        if (std::rename(options.replace_from.c_str(), options.replace_to.c_str()) != 0)
            std::fprintf(stderr, "rename %s: %s\n", options.replace_from.c_str(), std::strerror(errno));
        shared.replaced_at = since(shared, Clock::now());
        shared.replaced = true;
    }
    std::this_thread::sleep_until(deadline);
    shared.stop = true;
    for (auto& thread : threads) thread.join();
    const double elapsed = since(shared, Clock::now());

    unsigned long ok = 0, failed = 0;
    std::vector<std::uint32_t> all, before, after;
    std::string errors;
    const double replaced_at = shared.replaced_at;
    for (const auto& tally : tallies) {
        ok += tally.ok;
        failed += tally.failed;
        if (!tally.error.empty()) errors += (errors.empty() ? "" : "; ") + tally.error;
        for (const auto& sample : tally.samples) {
            all.push_back(sample.micros);
            if (replaced_at >= 0) (sample.at < replaced_at ? before : after).push_back(sample.micros);
        }
    }
    fmt::print(R"({{"mode": "{}", "requests": {}, "ok": {}, "failed": {}, "seconds": {:.3f}, "rate": {:.0f}, )"
               R"("latency": {}, "before_replace": {}, "after_replace": {}, "replaced_at": {:.3f}, "probe_changed_at": {:.3f}, )"
               R"("errors": "{}"}})" "\n",
               options.mode, ok + failed, ok, failed, elapsed, (ok + failed) / elapsed, json(percentiles(all)),
               json(percentiles(before)), json(percentiles(after)), shared.replaced_at.load(),
               shared.probe_changed_at.load(), errors);
    return errors.empty() ? 0 : 1;
}
