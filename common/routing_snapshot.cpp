// routing_snapshot.cpp — see routing_snapshot.hpp.
#include "routing_snapshot.hpp"

#include <array>
#include <charconv>
#include <cstring>
#include <fmt/format.h>

#include "address.hpp"
#include "snapshot_layout.hpp"

namespace snm {

namespace {

// Builds "base_local@domain" in a fixed buffer.
struct AddressBuffer {
    std::array<char, kMaxAddressLength + 1> bytes;
    std::size_t size = 0;
    bool assign(std::string_view local, std::string_view domain) {
        if (local.size() + 1 + domain.size() > bytes.size()) return false;
        std::memcpy(bytes.data(), local.data(), local.size());
        bytes[local.size()] = '@';
        std::memcpy(bytes.data() + local.size() + 1, domain.data(), domain.size());
        size = local.size() + 1 + domain.size();
        return true;
    }
    std::string_view view() const { return {bytes.data(), size}; }
};

// Appends each destination of a comma-separated list to `out`, with
// `extension` inserted before the '@' (Postfix's propagate_unmatched_extensions).
void append_with_extension(std::string& out, std::string_view destinations, std::string_view extension) {
    std::size_t start = 0;
    while (start <= destinations.size()) {
        auto end = destinations.find(',', start);
        if (end == std::string_view::npos) end = destinations.size();
        const auto destination = destinations.substr(start, end - start);
        if (!out.empty()) out += ',';
        const auto at = destination.rfind('@');
        if (at == std::string_view::npos || extension.empty()) {
            out.append(destination);
        } else {
            out.append(destination.substr(0, at)).append(extension).append(destination.substr(at));
        }
        start = end + 1;
    }
}

// Appends the comma-separated `items` to `out`, skipping ones already there.
void append_unique(std::string& out, std::string_view items) {
    std::size_t start = 0;
    while (start <= items.size()) {
        auto end = items.find(',', start);
        if (end == std::string_view::npos) end = items.size();
        const auto item = items.substr(start, end - start);
        bool present = false;
        std::size_t pos = 0;
        const std::string_view existing(out);
        while (!present && pos <= existing.size()) {
            auto stop = existing.find(',', pos);
            if (stop == std::string_view::npos) stop = existing.size();
            present = existing.substr(pos, stop - pos) == item;
            pos = stop + 1;
        }
        if (!present && !item.empty()) {
            if (!out.empty()) out += ',';
            out.append(item);
        }
        start = end + 1;
    }
}

// A lookup's intermediate record (an alias before its extension is added,
// one owner list of several, a value only tested for presence): one buffer
// per thread, reused, so lookups stay allocation-free and thread-safe.
std::string& record_buffer() {
    thread_local std::string record;
    return record;
}

bool equals_ignoring_case(std::string_view a, std::string_view b) {
    if (a.size() != b.size()) return false;
    for (std::size_t i = 0; i < a.size(); ++i) {
        const auto fold = [](char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c + 32) : c; };
        if (fold(a[i]) != fold(b[i])) return false;
    }
    return true;
}

}  // namespace

Result<std::shared_ptr<const RoutingSnapshot>> RoutingSnapshot::open(const std::string& path,
                                                                     std::uint64_t map_limit) {
    auto file = CdbFile::open(path, layout::kRoutingFormat, map_limit);
    if (!file) return file.error();
    std::shared_ptr<RoutingSnapshot> snapshot(new RoutingSnapshot(std::move(file.value())));
    const auto unreadable = [&](std::string_view what) {
        return Error{fmt::format("snapshot {}: {} is unreadable; run `snmctl apply`", path, what), true};
    };
    if (snapshot->file_->find(layout::kDelimiter, snapshot->delimiter_) == Find::Failed)
        return unreadable("the recipient delimiter");

    std::string record;
    if (auto s = snapshot->read_login_throttle(); !s) return Error{fmt::format("snapshot {}: {}", path, s.error().message), true};
    std::size_t count = 0;
    if (const auto found = snapshot->file_->find(layout::kRegexCount, record); found == Find::Failed)
        return unreadable("the regexp alias count");
    else if (found == Find::Found)
        std::from_chars(record.data(), record.data() + record.size(), count);
    for (std::size_t i = 0; i < count; ++i) {
        const auto found = snapshot->file_->find(std::string(layout::kRegexAlias) + std::to_string(i), record);
        const auto tab = found == Find::Found ? record.find('\t') : std::string::npos;
        if (tab == std::string::npos)
            return Error{fmt::format("snapshot {}: regexp alias {} is missing or malformed; run `snmctl apply`", path, i), true};
        const std::string_view entry = std::string_view(record).substr(0, tab);  // "/pattern/flags"
        const auto close = entry.rfind('/');
        const std::string pattern(entry.substr(1, close - 1));
        auto alias = std::make_unique<RegexAlias>();
        // Postfix regexp tables are case-insensitive by default.
        if (regcomp(&alias->compiled, pattern.c_str(), REG_EXTENDED | REG_ICASE | REG_NOSUB) != 0)
            return Error{fmt::format("snapshot {}: regexp alias `{}` does not compile", path, entry), true};
        alias->account = record.substr(tab + 1);
        snapshot->regex_aliases_.push_back(std::move(alias));
    }
    return std::shared_ptr<const RoutingSnapshot>(std::move(snapshot));
}

Status RoutingSnapshot::read_login_throttle() {
    std::string record;
    const auto found = file_->find(layout::kLoginThrottle, record);
    if (found == Find::Failed) return Error{"the login throttle limits are unreadable; run `snmctl apply`"};
    login_throttle_.enable = found == Find::Found;
    if (!login_throttle_.enable) return success();
    auto& t = login_throttle_;
    unsigned* const fields[] = {&t.maxFailures, &t.findTime, &t.banTime, &t.maxBanTime, &t.accountMaxFailures,
                                &t.accountDelay};
    std::size_t field = 0;
    for (const auto number : layout::split_record(record, ' ')) {
        if (field == std::size(fields) ||
            std::from_chars(number.data(), number.data() + number.size(), *fields[field]).ec != std::errc())
            return Error{fmt::format("the login throttle limits \"{}\" are malformed; run `snmctl apply`", record)};
        ++field;
    }
    if (field != std::size(fields))
        return Error{fmt::format("the login throttle limits \"{}\" are malformed; run `snmctl apply`", record)};
    if (file_->find(layout::kLoginAllow, record) == Find::Failed)
        return Error{"the networks exempt from login throttling are unreadable; run `snmctl apply`"};
    if (!record.empty())
        for (const auto network : layout::split_record(record, ','))
            if (!login_allow_.add(network))
                return Error{fmt::format("`{}` among the networks exempt from login throttling is malformed; run `snmctl apply`",
                                         network)};
    return success();
}

RoutingSnapshot::~RoutingSnapshot() {
    for (auto& alias : regex_aliases_) regfree(&alias->compiled);
}

bool RoutingSnapshot::split_extension(std::string_view address, std::string_view& base_local,
                                      std::string_view& extension) const {
    if (delimiter_.empty()) return false;
    const auto at = address.rfind('@');
    if (at == std::string_view::npos) return false;
    const auto local = address.substr(0, at);
    const auto cut = local.find_first_of(delimiter_);
    if (cut == std::string_view::npos || cut == 0) return false;
    base_local = local.substr(0, cut);
    extension = local.substr(cut);
    return true;
}

const RoutingSnapshot::RegexAlias* RoutingSnapshot::matching_regex(std::string_view address) const {
    if (regex_aliases_.empty()) return nullptr;
    std::array<char, kMaxAddressLength + 1> terminated;
    if (address.size() >= terminated.size()) return nullptr;
    std::memcpy(terminated.data(), address.data(), address.size());
    terminated[address.size()] = '\0';
    for (const auto& alias : regex_aliases_)
        if (regexec(&alias->compiled, terminated.data(), 0, nullptr, 0) == 0) return alias.get();
    return nullptr;
}

Find RoutingSnapshot::is_local_domain(std::string_view domain) const {
    return file_->find_folded(layout::kDomain, domain, record_buffer());
}

Find RoutingSnapshot::find_address(std::string_view prefix, std::string_view address, std::string& out) const {
    if (const auto found = file_->find_folded(prefix, address, out); found != Find::NotFound) return found;
    std::string_view base_local, extension;
    AddressBuffer base;
    if (split_extension(address, base_local, extension) && base.assign(base_local, domain_of(address)))
        return file_->find_folded(prefix, base.view(), out);
    return Find::NotFound;
}

Find RoutingSnapshot::mailbox(std::string_view address, std::string& out) const {
    return find_address(layout::kMailbox, address, out);
}

Find RoutingSnapshot::send_only_message(std::string_view address, std::string& out) const {
    return find_address(layout::kSendOnly, address, out);
}

Find RoutingSnapshot::resolve_alias(std::string_view address, std::string& out) const {
    out.clear();
    const auto domain = domain_of(address);
    if (domain.empty()) return Find::NotFound;
    std::string& record = record_buffer();
    // 1. The exact address: aliases, extraVirtualAliases, forwards.
    if (const auto exact = file_->find_folded(layout::kAlias, address, out); exact != Find::NotFound) return exact;
    // 2. An existing mailbox is delivered as it is, never to a catch-all.
    if (const auto mailbox = file_->find_folded(layout::kMailbox, address, record); mailbox != Find::NotFound)
        return mailbox == Find::Found ? Find::NotFound : Find::Failed;
    // 3. The same without the recipient-delimiter extension.
    std::string_view base_local, extension;
    AddressBuffer base;
    if (split_extension(address, base_local, extension) && base.assign(base_local, domain)) {
        if (const auto alias = file_->find_folded(layout::kAlias, base.view(), record); alias == Find::Found) {
            append_with_extension(out, record, extension);
            for (auto& c : out) c = (c >= 'A' && c <= 'Z') ? static_cast<char>(c + 32) : c;
            return Find::Found;
        } else if (alias == Find::Failed) {
            return Find::Failed;
        }
        if (const auto mailbox = file_->find_folded(layout::kMailbox, base.view(), record); mailbox != Find::NotFound)
            return mailbox == Find::Found ? Find::NotFound : Find::Failed;
    }
    // 4. Regexp aliases (aliasesRegexp), in declaration order.
    if (const auto* alias = matching_regex(address)) {
        out.append(alias->account);
        return Find::Found;
    }
    // 5. The domain's catch-all.
    return file_->find_folded(layout::kCatchAll, domain, out);
}

Find RoutingSnapshot::sender_owners(std::string_view address, std::string& out) const {
    out.clear();
    const auto domain = domain_of(address);
    if (domain.empty()) return Find::NotFound;
    std::string& record = record_buffer();
    // Adds the owners recorded under `key`; false when the snapshot is unreadable.
    const auto add_owners_of = [&](std::string_view key) {
        const auto found = file_->find_folded(layout::kSenderOwners, key, record);
        if (found == Find::Found) append_unique(out, record);
        return found != Find::Failed;
    };
    if (!add_owners_of(address)) return Find::Failed;
    std::string_view base_local, extension;
    AddressBuffer base;
    if (split_extension(address, base_local, extension) && base.assign(base_local, domain) &&
        !add_owners_of(base.view()))
        return Find::Failed;
    // "@domain" owners: an `@domain` alias or extraVirtualAliases entry.
    AddressBuffer whole_domain;
    if (whole_domain.assign("", domain) && !add_owners_of(whole_domain.view())) return Find::Failed;
    if (const auto* alias = matching_regex(address)) append_unique(out, alias->account);
    return out.empty() ? Find::NotFound : Find::Found;
}

Find RoutingSnapshot::owns_sender(std::string_view login, std::string_view address, std::string& scratch) const {
    if (const auto owners = sender_owners(address, scratch); owners != Find::Found) return owners;
    std::size_t start = 0;
    const std::string_view owners(scratch);
    while (start <= owners.size()) {
        auto end = owners.find(',', start);
        if (end == std::string_view::npos) end = owners.size();
        if (equals_ignoring_case(owners.substr(start, end - start), login)) return Find::Found;
        start = end + 1;
    }
    return Find::NotFound;
}

Find RoutingSnapshot::is_rejected_sender(std::string_view address) const {
    std::string& record = record_buffer();
    if (const auto found = file_->find_folded(layout::kRejectSender, address, record); found != Find::NotFound)
        return found;
    AddressBuffer whole_domain;
    const auto domain = domain_of(address);
    if (domain.empty() || !whole_domain.assign("", domain)) return Find::NotFound;
    return file_->find_folded(layout::kRejectSender, whole_domain.view(), record);
}

Find RoutingSnapshot::is_rejected_recipient(std::string_view address) const {
    return find_address(layout::kRejectRecipient, address, record_buffer());
}

}  // namespace snm
