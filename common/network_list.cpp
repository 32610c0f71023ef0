// network_list.cpp — see network_list.hpp.
#include "network_list.hpp"

#include <arpa/inet.h>

#include <charconv>
#include <cstring>

namespace snm {

namespace {

bool prefix_matches(const unsigned char* a, const unsigned char* b, unsigned prefix) {
    const unsigned whole = prefix / 8, rest = prefix % 8;
    if (std::memcmp(a, b, whole) != 0) return false;
    if (rest == 0) return true;
    const unsigned char mask = static_cast<unsigned char>(0xff << (8 - rest));
    return (a[whole] & mask) == (b[whole] & mask);
}

}  // namespace

std::optional<IpAddress> parse_ip_address(std::string_view text) {
    if (text.starts_with("IPv6:") || text.starts_with("ipv6:")) text.remove_prefix(5);
    char buffer[INET6_ADDRSTRLEN + 1];
    if (text.empty() || text.size() >= sizeof buffer) return std::nullopt;
    std::memcpy(buffer, text.data(), text.size());
    buffer[text.size()] = '\0';
    IpAddress address;
    if (::inet_pton(AF_INET, buffer, address.bytes) == 1) {
        address.family = AF_INET;
        return address;
    }
    if (::inet_pton(AF_INET6, buffer, address.bytes) == 1) {
        static const unsigned char mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
        if (std::memcmp(address.bytes, mapped, sizeof mapped) == 0) {
            std::memmove(address.bytes, address.bytes + 12, 4);
            std::memset(address.bytes + 4, 0, 12);
            address.family = AF_INET;
        } else {
            address.family = AF_INET6;
        }
        return address;
    }
    return std::nullopt;
}

bool NetworkList::add(std::string_view cidr) {
    const auto slash = cidr.find('/');
    const auto network = parse_ip_address(cidr.substr(0, slash));
    if (!network) return false;
    Block block{*network, network->family == AF_INET ? 32u : 128u};
    const unsigned width = block.prefix;
    if (slash != std::string_view::npos) {
        const auto digits = cidr.substr(slash + 1);
        const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), block.prefix);
        if (digits.empty() || ec != std::errc() || end != digits.data() + digits.size()) return false;
        // An IPv4-mapped block ("::ffff:10.0.0.0/104") was turned into IPv4 above.
        if (block.network.family == AF_INET && cidr.find(':') != std::string_view::npos) {
            if (block.prefix < 96 || block.prefix > 128) return false;
            block.prefix -= 96;
        }
        if (block.prefix > width) return false;
    }
    blocks_.push_back(block);
    return true;
}

bool NetworkList::contains(std::string_view address) const {
    const auto parsed = parse_ip_address(address);
    return parsed && contains(*parsed);
}

bool NetworkList::contains(const IpAddress& address) const {
    for (const auto& block : blocks_)
        if (block.network.family == address.family &&
            prefix_matches(block.network.bytes, address.bytes, block.prefix))
            return true;
    return false;
}

}  // namespace snm
