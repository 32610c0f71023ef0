// snapshot_bench.cpp — the snapshot benchmark's two halves (bench/snapshot/run
// drives both and `snmctl apply` between them):
//
//   snapshot_bench generate N FILE
//       writes an snm.toml of N login accounts with aliases, `@domain`
//       aliases, extraVirtualAliases, forwards and catch-alls (see
//       Population for the proportions).
//   snapshot_bench lookups N STATE_DIR [SAMPLES]
//       opens the snapshots `snmctl apply` compiled from that file and times
//       account, alias and sender-ownership lookups with random keys. Prints
//       one tab-separated line per lookup kind and pass:
//       kind pass samples p50_ns p99_ns p999_ns max_ns mean_ns batched_ns
//       preemptions minor_faults major_faults
//       (the last three counted by getrusage over the pass, to tell a slow
//       lookup from one another process's time slice landed in)
//
// Method: per kind, SAMPLES keys are drawn at random (fixed seed) and turned
// into strings beforehand. The snapshot files are evicted from the page
// cache (posix_fadvise DONTNEED) and opened afresh, then
//   cold     — one pass, each lookup timed alone with steady_clock (page
//              faults and disk reads included);
//   warm     — the same keys again, now resident, each lookup timed alone;
//   batched  — the warm keys once more, timed in chunks of kBatch lookups
//              under one pair of clock reads each: the median chunk's mean
//              is free of the per-lookup clock overhead and, on a shared
//              machine, of the chunks a preemption landed in.
// Every answer is checked against what the generator put there, so a
// benchmark that measures the wrong path fails instead of reporting.
#include <fcntl.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fmt/format.h>
#include <functional>
#include <random>
#include <string>
#include <vector>

#include "accounts_snapshot.hpp"
#include "routing_snapshot.hpp"
#include "snapshot_layout.hpp"

namespace {

// A valid SHA512-CRYPT hash (hashing is not what is measured).
constexpr std::string_view kPasswordHash =
    "$6$/z4n8AQl6K$kiOkBTWlZfBd7PvF5GsJ8PmPgdZsFGN1jPGZufxxr60PoR0oUsrvzm2oQiflyz5ir9fFJ.d/zKm/NgLXNUsNX/";
constexpr std::size_t kDefaultSamples = 200'000;
constexpr std::size_t kBatch = 1'000;  // lookups per batched timing
constexpr std::size_t kAccountsPerExtraDomain = 10'000;  // one more domain per this many accounts

// The generated mail system, one naming scheme for the generator and the
// lookups. Account i is user<i>@d<i mod D>.example. Domain k's role by k mod 4:
// 0 catchAll of account k, 1 `@domain` alias of account k, 2 `@domain`
// extraVirtualAliases entry for account k, 3 none (unknown addresses miss).
struct Population {
    explicit Population(std::size_t n)
        : accounts(n), domains(4 + n / kAccountsPerExtraDomain), teams(std::max<std::size_t>(1, n / 10)),
          forwards(std::max<std::size_t>(1, n / 20)) {}

    std::size_t accounts;
    std::size_t domains;
    std::size_t teams;     // extraVirtualAliases team<j> -> two accounts
    std::size_t forwards;  // forwards fwd<j> -> an external address

    std::string domain(std::size_t k) const { return fmt::format("d{}.example", k); }
    std::string account(std::size_t i) const { return fmt::format("user{}@{}", i, domain(i % domains)); }
    // Every 5th account has two aliases.
    static bool has_aliases(std::size_t i) { return i % 5 == 0; }
    std::string alias(std::size_t i, char which) const { return fmt::format("alias{}{}@{}", i, which, domain(i % domains)); }
    // Every 20th account may also send as a no-reply address.
    static bool has_send_as(std::size_t i) { return i % 20 == 7; }
    std::string send_as(std::size_t i) const { return fmt::format("noreply{}@{}", i, domain(i % domains)); }
    // Every 100th account forwards a copy elsewhere; every 100th is send-only.
    static bool forwards_elsewhere(std::size_t i) { return i % 100 == 3; }
    static bool is_send_only(std::size_t i) { return i % 100 == 9; }
    std::string team(std::size_t j) const { return fmt::format("team{}@{}", j, domain(j % domains)); }
    std::size_t team_member(std::size_t j, std::size_t which) const { return (7 * j + which) % accounts; }
    std::string forward(std::size_t j) const { return fmt::format("fwd{}@{}", j, domain(j % domains)); }
    // Domain roles (see above); accounts 0..domains-1 exist since N >= 4.
    static int role(std::size_t k) { return static_cast<int>(k % 4); }
    std::string unknown(std::uint64_t r, std::size_t k) const { return fmt::format("nobody{}@{}", r, domain(k)); }
};

// --- generate -----------------------------------------------------------------

void append_list(std::string& out, const std::vector<std::string>& items) {
    out += '[';
    for (std::size_t i = 0; i < items.size(); ++i) fmt::format_to(std::back_inserter(out), "{}\"{}\"", i ? ", " : "", items[i]);
    out += "]\n";
}

int generate(const Population& p, const char* path) {
    std::FILE* file = std::fopen(path, "w");
    if (!file) {
        fmt::print(stderr, "cannot create {}\n", path);
        return 1;
    }
    std::string out;
    auto flush = [&] {
        std::fwrite(out.data(), 1, out.size(), file);
        out.clear();
    };
    out += "# Generated by bench/snapshot/snapshot_bench; see bench/snapshot/RESULTS.md.\n";
    out += "fqdn = \"mail.d0.example\"\ndomains = [";
    for (std::size_t k = 0; k < p.domains; ++k) fmt::format_to(std::back_inserter(out), "{}\"{}\"", k ? ", " : "", p.domain(k));
    out += "]\ncertificateScheme = \"selfsigned\"\n\n";
    for (std::size_t i = 0; i < p.accounts; ++i) {
        fmt::format_to(std::back_inserter(out), "[loginAccounts.\"{}\"]\nhashedPassword = \"{}\"\n", p.account(i), kPasswordHash);
        std::vector<std::string> aliases;
        if (Population::has_aliases(i)) aliases = {p.alias(i, 'a'), p.alias(i, 'b')};
        if (i < p.domains && Population::role(i) == 1) aliases.push_back("@" + p.domain(i));
        if (!aliases.empty()) {
            out += "aliases = ";
            append_list(out, aliases);
        }
        if (i < p.domains && Population::role(i) == 0) fmt::format_to(std::back_inserter(out), "catchAll = [\"{}\"]\n", p.domain(i));
        if (Population::has_send_as(i)) fmt::format_to(std::back_inserter(out), "sendAs = [\"{}\"]\n", p.send_as(i));
        if (i % 2 == 0) out += "quota = \"2G\"\n";
        if (Population::is_send_only(i)) out += "sendOnly = true\n";
        if (out.size() > (1 << 20)) flush();
    }
    out += "\n[extraVirtualAliases]\n";
    for (std::size_t k = 0; k < p.domains; ++k)
        if (Population::role(k) == 2) fmt::format_to(std::back_inserter(out), "\"@{}\" = \"{}\"\n", p.domain(k), p.account(k));
    for (std::size_t j = 0; j < p.teams; ++j) {
        fmt::format_to(std::back_inserter(out), "\"{}\" = [\"{}\", \"{}\"]\n", p.team(j), p.account(p.team_member(j, 0)),
                       p.account(p.team_member(j, 1)));
        if (out.size() > (1 << 20)) flush();
    }
    out += "\n[forwards]\n";
    for (std::size_t j = 0; j < p.forwards; ++j) {
        fmt::format_to(std::back_inserter(out), "\"{}\" = \"ext{}@elsewhere.example.net\"\n", p.forward(j), j);
        if (out.size() > (1 << 20)) flush();
    }
    for (std::size_t i = 0; i < p.accounts; ++i)
        if (Population::forwards_elsewhere(i))
            fmt::format_to(std::back_inserter(out), "\"{}\" = \"user{}@backup.example.net\"\n", p.account(i), i);
    flush();
    return std::fclose(file) == 0 ? 0 : 1;
}

// --- lookups ------------------------------------------------------------------

using Clock = std::chrono::steady_clock;

// One lookup kind: its keys and the call that answers one (true = found /
// owned); `expected` is what the generator's data says it must answer.
struct LookupKind {
    std::string name;
    std::vector<std::string> keys;    // the address looked up
    std::vector<std::string> logins;  // owns_sender only: the logged-in account
    bool expected;
};

struct Percentiles {
    std::uint64_t p50, p99, p999, max;
    double mean;
};

Percentiles percentiles(std::vector<std::uint64_t>& ns) {
    std::sort(ns.begin(), ns.end());
    const auto at = [&](double q) { return ns[std::min(ns.size() - 1, static_cast<std::size_t>(q * ns.size()))]; };
    double sum = 0;
    for (auto v : ns) sum += static_cast<double>(v);
    return {at(0.50), at(0.99), at(0.999), ns.back(), sum / static_cast<double>(ns.size())};
}

// Drops the file's pages from the page cache (works without privileges for
// clean, unmapped pages), so the next pass starts cold.
void evict(const std::string& path) {
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return;
    ::posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
    ::close(fd);
}

std::vector<LookupKind> make_kinds(const Population& p, std::size_t samples) {
    std::mt19937_64 random(20240501);
    const auto any = [&](std::size_t n) { return static_cast<std::size_t>(random() % n); };
    // A domain of one of `roles`.
    const auto domain_with_role = [&](std::initializer_list<int> roles) {
        for (;;) {
            const auto k = any(p.domains);
            if (std::find(roles.begin(), roles.end(), Population::role(k)) != roles.end()) return k;
        }
    };
    const auto make = [&](std::string name, bool expected, const std::function<void(LookupKind&)>& add_one) {
        LookupKind kind{std::move(name), {}, {}, expected};
        kind.keys.reserve(samples);
        while (kind.keys.size() < samples) add_one(kind);
        return kind;
    };
    std::vector<LookupKind> kinds;
    kinds.push_back(make("account password (hit)", true, [&](LookupKind& k) { k.keys.push_back(p.account(any(p.accounts))); }));
    kinds.push_back(make("account userdb (hit)", true, [&](LookupKind& k) { k.keys.push_back(p.account(any(p.accounts))); }));
    kinds.push_back(make("account password (miss)", false, [&](LookupKind& k) {
        k.keys.push_back(p.unknown(random(), any(p.domains)));
    }));
    kinds.push_back(make("alias: alias/extraVirtualAlias/forward (hit)", true, [&](LookupKind& k) {
        switch (any(3)) {
        case 0: k.keys.push_back(p.alias(any(p.accounts) / 5 * 5, 'b')); break;
        case 1: k.keys.push_back(p.team(any(p.teams))); break;
        default: k.keys.push_back(p.forward(any(p.forwards))); break;
        }
    }));
    kinds.push_back(make("alias: alias+extension (hit)", true, [&](LookupKind& k) {
        const auto i = any(p.accounts) / 5 * 5;
        auto alias = p.alias(i, 'a');
        alias.insert(alias.find('@'), "+news");
        k.keys.push_back(alias);
    }));
    kinds.push_back(make("alias: unknown address, catch-all", true, [&](LookupKind& k) {
        k.keys.push_back(p.unknown(random(), domain_with_role({0, 1, 2})));
    }));
    kinds.push_back(make("alias: account address (no alias)", false, [&](LookupKind& k) {
        std::size_t i;
        do i = any(p.accounts); while (Population::forwards_elsewhere(i));
        k.keys.push_back(p.account(i));
    }));
    kinds.push_back(make("alias: unknown address (miss)", false, [&](LookupKind& k) {
        k.keys.push_back(p.unknown(random(), domain_with_role({3})));
    }));
    kinds.push_back(make("owns_sender (own address/alias/team/@domain)", true, [&](LookupKind& k) {
        switch (any(4)) {
        case 0: {
            const auto i = any(p.accounts);
            k.logins.push_back(p.account(i));
            k.keys.push_back(p.account(i));
            break;
        }
        case 1: {
            const auto i = any(p.accounts) / 5 * 5;
            k.logins.push_back(p.account(i));
            k.keys.push_back(p.alias(i, 'a'));
            break;
        }
        case 2: {
            const auto j = any(p.teams);
            k.logins.push_back(p.account(p.team_member(j, 1)));
            k.keys.push_back(p.team(j));
            break;
        }
        default: {
            const auto d = domain_with_role({1, 2});
            k.logins.push_back(p.account(d));
            k.keys.push_back(p.unknown(random(), d));
            break;
        }
        }
    }));
    kinds.push_back(make("owns_sender (another account's address)", false, [&](LookupKind& k) {
        // Accounts of domains without an `@domain` owner, so the login owns nothing there.
        std::size_t i, j;
        do i = any(p.accounts); while (Population::role(i % p.domains) != 3);
        do j = any(p.accounts); while (j == i);
        k.logins.push_back(p.account(i));
        k.keys.push_back(p.account(j));
    }));
    kinds.push_back(make("owns_sender (unowned address)", false, [&](LookupKind& k) {
        k.logins.push_back(p.account(any(p.accounts)));
        k.keys.push_back(p.unknown(random(), domain_with_role({0, 3})));
    }));
    return kinds;
}

int lookups(const Population& p, const std::string& state, std::size_t samples) {
    const auto accounts_path = state + "/" + std::string(snm::layout::kAccountsFile);
    const auto routing_path = state + "/" + std::string(snm::layout::kRoutingFile);
    auto kinds = make_kinds(p, samples);

    // Timer overhead: an empty pair of clock reads, for reading the figures.
    std::vector<std::uint64_t> overhead(samples);
    for (auto& ns : overhead) {
        const auto t0 = Clock::now();
        const auto t1 = Clock::now();
        ns = static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(t1 - t0).count());
    }
    const auto timer = percentiles(overhead);
    fmt::print("clock overhead\t-\t{}\t{}\t{}\t{}\t{}\t{:.0f}\t-\t-\t-\t-\n", samples, timer.p50, timer.p99, timer.p999, timer.max, timer.mean);

    std::string out;
    std::size_t wrong = 0;
    for (auto& kind : kinds) {
        evict(accounts_path);
        evict(routing_path);
        auto accounts = snm::AccountsSnapshot::open(accounts_path);
        auto routing = snm::RoutingSnapshot::open(routing_path);
        if (!accounts || !routing) {
            fmt::print(stderr, "{}\n", !accounts ? accounts.error().message : routing.error().message);
            return 1;
        }
        const auto& acc = **accounts;
        const auto& route = **routing;
        // The call under test, by kind.
        std::function<bool(std::size_t)> lookup;
        using snm::Find;
        if (kind.name.starts_with("account password")) lookup = [&](std::size_t i) { return acc.password(kind.keys[i], out) == Find::Found; };
        else if (kind.name.starts_with("account userdb")) lookup = [&](std::size_t i) { return acc.userdb_fields(kind.keys[i], out) == Find::Found; };
        else if (kind.name.starts_with("alias")) lookup = [&](std::size_t i) { return route.resolve_alias(kind.keys[i], out) == Find::Found; };
        else lookup = [&](std::size_t i) { return route.owns_sender(kind.logins[i], kind.keys[i], out) == Find::Found; };

        std::vector<std::uint64_t> ns(kind.keys.size());
        for (const char* pass : {"cold", "warm"}) {
            rusage before{}, after{};
            ::getrusage(RUSAGE_THREAD, &before);
            for (std::size_t i = 0; i < kind.keys.size(); ++i) {
                const auto t0 = Clock::now();
                const bool answer = lookup(i);
                const auto t1 = Clock::now();
                ns[i] = static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(t1 - t0).count());
                if (answer != kind.expected && wrong++ < 5)
                    fmt::print(stderr, "{}: `{}` (login `{}`) answered {}, expected {}\n", kind.name, kind.keys[i],
                               kind.logins.empty() ? "" : kind.logins[i], answer, kind.expected);
            }
            std::vector<double> batch_means;
            for (std::size_t start = 0; start + kBatch <= kind.keys.size(); start += kBatch) {
                const auto batch_start = Clock::now();
                for (std::size_t i = start; i < start + kBatch; ++i) lookup(i);
                batch_means.push_back(std::chrono::duration<double, std::nano>(Clock::now() - batch_start).count() / kBatch);
            }
            std::sort(batch_means.begin(), batch_means.end());
            const double batched = batch_means.empty() ? 0 : batch_means[batch_means.size() / 2];
            ::getrusage(RUSAGE_THREAD, &after);
            const auto q = percentiles(ns);
            fmt::print("{}\t{}\t{}\t{}\t{}\t{}\t{}\t{:.0f}\t{:.0f}\t{}\t{}\t{}\n", kind.name, pass, ns.size(), q.p50, q.p99,
                       q.p999, q.max, q.mean, batched, after.ru_nivcsw - before.ru_nivcsw,
                       after.ru_minflt - before.ru_minflt, after.ru_majflt - before.ru_majflt);
            std::fflush(stdout);
        }
    }
    if (wrong) {
        fmt::print(stderr, "{} lookups answered differently from the generated data\n", wrong);
        return 1;
    }
    return 0;
}

int usage() {
    fmt::print(stderr, "usage: snapshot_bench generate N FILE\n       snapshot_bench lookups N STATE_DIR [SAMPLES]\n");
    return 2;
}

}  // namespace

int main(int argc, char** argv) {
    if (argc < 4) return usage();
    const std::string mode = argv[1];
    const auto n = std::strtoull(argv[2], nullptr, 10);
    if (n < 4) {
        fmt::print(stderr, "N must be at least 4 (one account per domain role)\n");
        return 2;
    }
    const Population population(n);
    if (mode == "generate") return generate(population, argv[3]);
    if (mode == "lookups") return lookups(population, argv[3], argc > 4 ? std::strtoull(argv[4], nullptr, 10) : kDefaultSamples);
    return usage();
}
