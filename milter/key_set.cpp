// key_set.cpp — see key_set.hpp.
#include "key_set.hpp"

#include <fmt/format.h>

#include "log.hpp"

namespace snm::milter {

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
