// login_failures.hpp — the memory behind snm-policyd's answers to Dovecot's
// auth policy requests: failed logins counted per client address and per
// account, bans and delays decided from them (loginThrottle in snm.toml).
//
// Per address (IPv4 /32, IPv6 /64 — one host's usual allocation): after
// maxFailures failed logins within findTime of the first, the address is
// banned for banTime, doubled for each further ban up to maxBanTime; while
// banned, its logins are refused before any password is checked. Per
// account: after accountMaxFailures failures within findTime, from
// anywhere, every login on that account waits accountDelay seconds — slowed,
// never refused, so guessers spread over many addresses cannot lock the
// real user out.
//
// Bounded memory: at most kMaxTrackedAddresses and kMaxTrackedAccounts
// entries; past that the least recently seen one is forgotten, so a flood
// of random addresses costs the flood its own history, not the server its
// memory. The state lives as long as the process: a snapshot change or
// SIGHUP keeps it.
#pragma once

#include <array>
#include <chrono>
#include <cstddef>
#include <list>
#include <string>
#include <string_view>
#include <unordered_map>

#include "config.hpp"
#include "network_list.hpp"
#include "policyd_limits.hpp"

namespace snm::policyd {

using ThrottleClock = std::chrono::steady_clock;

struct ThrottleVerdict {
    enum class Kind { Allow, Delay, Refuse };
    Kind kind = Kind::Allow;
    unsigned seconds = 0;  // Delay: how long to wait; Refuse: what is left of the ban
};

// What a failure did: `ban_seconds` > 0 when it started a ban of that length.
struct FailureRecorded {
    unsigned address_failures = 0;
    unsigned ban_seconds = 0;
};

class LoginFailures {
public:
    explicit LoginFailures(std::size_t max_addresses = kMaxTrackedAddresses, std::size_t max_accounts = kMaxTrackedAccounts);

    // Before the password is checked.
    ThrottleVerdict check(const IpAddress& client, std::string_view account, const snm::LoginThrottle& limits,
                          ThrottleClock::time_point now);
    // After a failed password check (not after a refusal of ours).
    FailureRecorded record_failure(const IpAddress& client, std::string_view account,
                                   const snm::LoginThrottle& limits, ThrottleClock::time_point now);

    std::size_t tracked_addresses() const { return addresses_.size(); }
    std::size_t tracked_accounts() const { return accounts_.size(); }

private:
    struct Counter {
        unsigned failures = 0;
        ThrottleClock::time_point first_failure{};
    };
    struct AddressEntry {
        Counter counter;
        unsigned bans = 0;
        ThrottleClock::time_point banned_until{};
        ThrottleClock::time_point last_seen{};
    };
    using AddressKey = std::array<unsigned char, 17>;  // family, then the (masked) bytes
    struct AddressKeyHash {
        std::size_t operator()(const AddressKey& key) const noexcept;
    };

    // A hash table whose least recently touched entry goes first when full.
    template <typename Key, typename Value, typename Hash = std::hash<Key>>
    class Recent {
    public:
        explicit Recent(std::size_t capacity) : capacity_(capacity) {}
        Value* find(const Key& key);
        Value& touch(const Key& key);  // creates the entry if needed
        std::size_t size() const { return index_.size(); }

    private:
        using Order = std::list<std::pair<Key, Value>>;
        std::size_t capacity_;
        Order order_;  // most recent first
        std::unordered_map<Key, typename Order::iterator, Hash> index_;
    };

    static AddressKey key_of(const IpAddress& client);
    static std::string account_key(std::string_view account);

    Recent<AddressKey, AddressEntry, AddressKeyHash> addresses_;
    Recent<std::string, Counter> accounts_;
};

}  // namespace snm::policyd
