// key_set.cpp — see key_set.hpp.
#include "key_set.hpp"

#include <arpa/inet.h>

#include <charconv>
#include <cstring>
#include <fmt/format.h>

#include "log.hpp"

namespace snm::milter {

namespace {

// Parses an address into 4 or 16 bytes; IPv4-mapped IPv6 becomes IPv4.
bool parse_address(std::string_view text, int& family, unsigned char bytes[16]) {
    if (text.starts_with("IPv6:") || text.starts_with("ipv6:")) text.remove_prefix(5);
    char buffer[INET6_ADDRSTRLEN + 1];
    if (text.empty() || text.size() >= sizeof buffer) return false;
    std::memcpy(buffer, text.data(), text.size());
    buffer[text.size()] = '\0';
    if (::inet_pton(AF_INET, buffer, bytes) == 1) {
        family = AF_INET;
        return true;
    }
    if (::inet_pton(AF_INET6, buffer, bytes) == 1) {
        static const unsigned char mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
        if (std::memcmp(bytes, mapped, sizeof mapped) == 0) {
            std::memmove(bytes, bytes + 12, 4);
            family = AF_INET;
        } else {
            family = AF_INET6;
        }
        return true;
    }
    return false;
}

bool prefix_matches(const unsigned char* a, const unsigned char* b, unsigned prefix) {
    const unsigned whole = prefix / 8, rest = prefix % 8;
    if (std::memcmp(a, b, whole) != 0) return false;
    if (rest == 0) return true;
    const unsigned char mask = static_cast<unsigned char>(0xff << (8 - rest));
    return (a[whole] & mask) == (b[whole] & mask);
}

}  // namespace

bool NetworkList::add(std::string_view cidr) {
    Block block;
    const auto slash = cidr.find('/');
    if (!parse_address(cidr.substr(0, slash), block.family, block.bytes)) return false;
    const unsigned width = block.family == AF_INET ? 32 : 128;
    block.prefix = width;
    if (slash != std::string_view::npos) {
        const auto digits = cidr.substr(slash + 1);
        const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), block.prefix);
        if (ec != std::errc() || end != digits.data() + digits.size()) return false;
        // An IPv4-mapped block ("::ffff:10.0.0.0/104") was turned into IPv4 above.
        if (block.family == AF_INET && cidr.find(':') != std::string_view::npos) {
            if (block.prefix < 96 || block.prefix > 128) return false;
            block.prefix -= 96;
        }
        if (block.prefix > width) return false;
    }
    blocks_.push_back(block);
    return true;
}

bool NetworkList::contains(std::string_view address) const {
    int family = 0;
    unsigned char bytes[16] = {};
    if (!parse_address(address, family, bytes)) return false;
    for (const auto& block : blocks_)
        if (block.family == family && prefix_matches(block.bytes, bytes, block.prefix)) return true;
    return false;
}

std::shared_ptr<const KeySet> KeySet::build(const DkimSnapshot& snapshot) {
    auto set = std::make_shared<KeySet>();
    set->header_canonicalization = snapshot.header_canonicalization;
    set->body_canonicalization = snapshot.body_canonicalization;
    set->on_error = snapshot.on_error;
    for (const auto& network : snapshot.internal_networks)
        if (!set->internal_.add(network))
            set->errors.push_back(fmt::format("snapshot {}: internal network `{}` is not a CIDR block; fix "
                                              "dkim.internalNetworks and run `snmctl apply`", snapshot.path, network));
    for (const auto& [domain, selectors] : snapshot.domains()) {
        auto& entry = set->domains_[domain];
        for (const auto& selector : selectors) {
            auto loaded = load_dkim_key(selector.key_file, selector.algorithm);
            if (!loaded) {
                const auto line = fmt::format("cannot sign for {} (selector {}): {}", domain, selector.selector,
                                              loaded.error().message);
                set->errors.push_back(line);
                if (entry.error.empty()) entry.error = line;
                continue;
            }
            if (loaded->warning) set->warnings.push_back(*loaded->warning);
            entry.keys.push_back({domain, selector.selector, selector.algorithm, std::move(loaded->key)});
        }
        if (entry.keys.empty() && entry.error.empty()) entry.error = fmt::format("no selectors for {}", domain);
        for (const auto& key : entry.keys) {
            entry.signing_order.push_back(&key);
            if (!entry.selectors.empty()) entry.selectors += ',';
            entry.selectors += key.selector;
        }
        set->key_count += entry.keys.size();
    }
    return set;
}

const DomainKeys* KeySet::find(const std::string& domain) const {
    auto it = domains_.find(domain);
    return it == domains_.end() ? nullptr : &it->second;
}

KeyStore::KeyStore(std::string snapshot_path)
    : source_(std::move(snapshot_path), OnBrokenSnapshot::KeepLast, [](const SnapshotEvent& event) {
          if (event.error) log_warning("{}", event.message);
          else log_info("{}", event.message);
      }) {}

void KeyStore::request_reload() {
    reload_keys_ = true;
    source_.request_reload();
}

std::shared_ptr<const KeySet> KeyStore::current() {
    auto snapshot = source_.get();
    std::lock_guard lock(mutex_);
    const bool reread_keys = reload_keys_.exchange(false);
    if (!snapshot || (snapshot == built_from_ && !reread_keys)) return keys_;
    built_from_ = snapshot;
    auto fresh = KeySet::build(*snapshot);
    for (const auto& warning : fresh->warnings) log_warning("{}", warning);
    if (!fresh->errors.empty() && keys_) {
        for (const auto& error : fresh->errors)
            log_error("{}; still signing with the keys loaded before", error);
        return keys_;
    }
    for (const auto& error : fresh->errors) log_error("{}", error);
    log_info("loaded {} DKIM key(s) for {} domain(s) from {}", fresh->key_count, fresh->domain_count(), snapshot->path);
    keys_ = std::move(fresh);
    return keys_;
}

std::string KeyStore::problem() { return source_.error(); }

}  // namespace snm::milter
