// network_list.hpp — IPv4/IPv6 addresses and CIDR blocks as snm.toml and
// the MTA write them: dkim.internalNetworks (the loader validates them, the
// milter matches clients against them) and loginThrottle.allowNetworks
// (snm-policyd never throttles logins from them).
//
// One parser for all: "a.b.c.d/n", "x:y::/n" or a bare address (a host
// block); IPv4-mapped IPv6 ("::ffff:192.0.2.1", "::ffff:10.0.0.0/104") is
// treated as the IPv4 address it carries, so a client reported either way
// matches the same block.
#pragma once

#include <optional>
#include <string_view>
#include <vector>

namespace snm {

struct IpAddress {
    int family = 0;                 // AF_INET or AF_INET6
    unsigned char bytes[16] = {};   // 4 used for AF_INET
};

// `text` as the MTA reports it ("192.0.2.1", "::1", "IPv6:::1",
// "::ffff:192.0.2.1"); nullopt if it is not an address.
std::optional<IpAddress> parse_ip_address(std::string_view text);

class NetworkList {
public:
    // Adds "a.b.c.d/n", "x:y::/n" or a bare address; false if malformed.
    bool add(std::string_view cidr);
    bool contains(std::string_view address) const;
    bool contains(const IpAddress& address) const;
    bool empty() const { return blocks_.empty(); }

private:
    struct Block {
        IpAddress network;
        unsigned prefix = 0;
    };
    std::vector<Block> blocks_;
};

}  // namespace snm
