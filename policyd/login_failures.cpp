// login_failures.cpp — see login_failures.hpp.
#include "login_failures.hpp"

#include <sys/socket.h>

#include <algorithm>
#include <cstring>

#include "address.hpp"

namespace snm::policyd {

namespace {

using Seconds = std::chrono::seconds;

unsigned seconds_until(ThrottleClock::time_point then, ThrottleClock::time_point now) {
    const auto left = std::chrono::ceil<Seconds>(then - now).count();
    return left > 0 ? static_cast<unsigned>(left) : 0;
}

// Counts a failure in a window that starts at the first failure and lasts
// `find_time` seconds; an older window starts afresh.
unsigned count_failure(unsigned& failures, ThrottleClock::time_point& first, unsigned find_time,
                       ThrottleClock::time_point now) {
    if (failures == 0 || now - first >= Seconds(find_time)) {
        failures = 0;
        first = now;
    }
    return ++failures;
}

bool within_window(unsigned failures, ThrottleClock::time_point first, unsigned find_time,
                   ThrottleClock::time_point now) {
    return failures > 0 && now - first < Seconds(find_time);
}

}  // namespace

template <typename Key, typename Value, typename Hash>
Value* LoginFailures::Recent<Key, Value, Hash>::find(const Key& key) {
    const auto found = index_.find(key);
    return found == index_.end() ? nullptr : &found->second->second;
}

template <typename Key, typename Value, typename Hash>
Value& LoginFailures::Recent<Key, Value, Hash>::touch(const Key& key) {
    if (const auto found = index_.find(key); found != index_.end()) {
        order_.splice(order_.begin(), order_, found->second);
        return found->second->second;
    }
    if (index_.size() >= capacity_ && !order_.empty()) {
        index_.erase(order_.back().first);
        order_.pop_back();
    }
    order_.emplace_front(key, Value{});
    index_.emplace(key, order_.begin());
    return order_.front().second;
}

std::size_t LoginFailures::AddressKeyHash::operator()(const AddressKey& key) const noexcept {
    // FNV-1a over the 17 bytes.
    std::size_t hash = 1469598103934665603ull;
    for (const unsigned char byte : key) hash = (hash ^ byte) * 1099511628211ull;
    return hash;
}

LoginFailures::LoginFailures(std::size_t max_addresses, std::size_t max_accounts)
    : addresses_(std::max<std::size_t>(max_addresses, 1)), accounts_(std::max<std::size_t>(max_accounts, 1)) {}

LoginFailures::AddressKey LoginFailures::key_of(const IpAddress& client) {
    AddressKey key{};
    key[0] = static_cast<unsigned char>(client.family == AF_INET6 ? 6 : 4);
    // IPv6: the /64 — one host usually holds the whole prefix.
    std::memcpy(key.data() + 1, client.bytes, client.family == AF_INET6 ? 8 : 4);
    return key;
}

std::string LoginFailures::account_key(std::string_view account) {
    return to_lower(account.substr(0, kMaxAccountKey));
}

ThrottleVerdict LoginFailures::check(const IpAddress& client, std::string_view account, const snm::LoginThrottle& limits,
                                     ThrottleClock::time_point now) {
    if (auto* entry = addresses_.find(key_of(client)); entry && entry->banned_until > now)
        return {ThrottleVerdict::Kind::Refuse, seconds_until(entry->banned_until, now)};
    if (!account.empty())
        if (auto* counter = accounts_.find(account_key(account));
            counter && counter->failures >= limits.accountMaxFailures &&
            within_window(counter->failures, counter->first_failure, limits.findTime, now) && limits.accountDelay > 0)
            return {ThrottleVerdict::Kind::Delay, limits.accountDelay};
    return {};
}

FailureRecorded LoginFailures::record_failure(const IpAddress& client, std::string_view account,
                                              const snm::LoginThrottle& limits, ThrottleClock::time_point now) {
    FailureRecorded recorded;
    auto& entry = addresses_.touch(key_of(client));
    // An address quiet for a whole maxBanTime after its last ban ended starts
    // again from the first ban.
    if (entry.bans > 0 && now - std::max(entry.last_seen, entry.banned_until) >= Seconds(limits.maxBanTime))
        entry.bans = 0;
    entry.last_seen = now;
    recorded.address_failures = count_failure(entry.counter.failures, entry.counter.first_failure, limits.findTime, now);
    if (recorded.address_failures >= limits.maxFailures && entry.banned_until <= now) {
        const unsigned shift = std::min(entry.bans, 31u);
        const std::uint64_t ban = std::min<std::uint64_t>(std::uint64_t{limits.banTime} << shift, limits.maxBanTime);
        recorded.ban_seconds = static_cast<unsigned>(ban);
        entry.banned_until = now + Seconds(ban);
        ++entry.bans;
        entry.counter = {};
    }
    if (!account.empty()) {
        auto& counter = accounts_.touch(account_key(account));
        count_failure(counter.failures, counter.first_failure, limits.findTime, now);
    }
    return recorded;
}

}  // namespace snm::policyd
