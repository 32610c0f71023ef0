// config_limits.cpp — [loginThrottle] and [clientRateLimits] of snm.toml,
// the limits snm-policyd and Postfix's anvil enforce (config_reader.hpp).
#include "config_reader.hpp"

namespace snm::config_reading {

void Loader::read_login_throttle(const toml::node& node) {
    auto table = table_of(node, "`loginThrottle` must be a table ([loginThrottle])");
    if (!table) return;
    static constexpr std::uint64_t kWeek = 7 * 86400;
    static const std::vector<Field<LoginThrottle>> fields = {
        flag_field("enable", &LoginThrottle::enable),
        unsigned_field("maxFailures", &LoginThrottle::maxFailures, 1, 100000),
        unsigned_field("findTime", &LoginThrottle::findTime, 1, kWeek),
        unsigned_field("banTime", &LoginThrottle::banTime, 1, kWeek),
        unsigned_field("maxBanTime", &LoginThrottle::maxBanTime, 1, kWeek),
        unsigned_field("accountMaxFailures", &LoginThrottle::accountMaxFailures, 1, 1000000),
        // Dovecot's auth clients wait about a minute at most.
        unsigned_field("accountDelay", &LoginThrottle::accountDelay, 0, 60),
        networks_field("allowNetworks", &LoginThrottle::allowNetworks),
    };
    auto& throttle = config_.loginThrottle;
    read_fields<LoginThrottle>(*table, "[loginThrottle]", "loginThrottle", throttle, fields);
    if (throttle.banTime > throttle.maxBanTime)
        error(node, fmt::format("`loginThrottle.banTime` ({} s) is longer than `loginThrottle.maxBanTime` ({} s)",
                                throttle.banTime, throttle.maxBanTime));
}

void Loader::read_client_rate_limits(const toml::node& node) {
    auto table = table_of(node, "`clientRateLimits` must be a table ([clientRateLimits])");
    if (!table) return;
    // Postfix's anvil counts per client address and minute; 0 turns a limit off.
    static const std::vector<Field<ClientRateLimits>> fields = {
        unsigned_field("connections", &ClientRateLimits::connections, 0, 100000),
        unsigned_field("concurrentConnections", &ClientRateLimits::concurrentConnections, 0, 10000),
        unsigned_field("messages", &ClientRateLimits::messages, 0, 100000),
        unsigned_field("auths", &ClientRateLimits::auths, 0, 100000),
        networks_field("allowNetworks", &ClientRateLimits::allowNetworks),
    };
    read_fields<ClientRateLimits>(*table, "[clientRateLimits]", "clientRateLimits", config_.clientRateLimits, fields);
}

}  // namespace snm::config_reading
