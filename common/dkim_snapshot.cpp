// dkim_snapshot.cpp — see dkim_snapshot.hpp.
#include "dkim_snapshot.hpp"

#include <fmt/format.h>

#include "cdb_file.hpp"
#include "snapshot_layout.hpp"

namespace snm {

namespace {

std::optional<Canonicalization> parse_canonicalization(std::string_view text) {
    if (text == "relaxed") return Canonicalization::Relaxed;
    if (text == "simple") return Canonicalization::Simple;
    return std::nullopt;
}

}  // namespace

Result<std::shared_ptr<const DkimSnapshot>> DkimSnapshot::open(const std::string& path) {
    auto file = CdbFile::open(path, layout::kDkimFormat);
    if (!file) return file.error();
    auto snapshot = std::make_shared<DkimSnapshot>();
    snapshot->path = path;
    const auto corrupt = [&](std::string_view what) {
        return Error{fmt::format("snapshot {}: {} is malformed; run `snmctl apply`", path, what), true};
    };

    // A record's value, or "" when it is absent or unreadable (then the checks below fail).
    std::string value;
    const auto record = [&](std::string_view key) -> const std::string& {
        if ((*file)->find(key, value) != Find::Found) value.clear();
        return value;
    };

    const auto canonicalization = layout::split_record(record(layout::kCanonicalization), '/');
    if (canonicalization.size() != 2) return corrupt("the canonicalization");
    auto header = parse_canonicalization(canonicalization[0]);
    auto body = parse_canonicalization(canonicalization[1]);
    if (!header || !body) return corrupt("the canonicalization");
    snapshot->header_canonicalization = *header;
    snapshot->body_canonicalization = *body;

    const std::string& on_error = record(layout::kOnError);
    if (on_error == "tempfail") snapshot->on_error = DkimOnError::Tempfail;
    else if (on_error == "accept") snapshot->on_error = DkimOnError::Accept;
    else return corrupt("the on-error setting");

    if (const std::string& networks = record(layout::kInternalNetworks); !networks.empty())
        for (auto network : layout::split_record(networks, ',')) snapshot->internal_networks.emplace_back(network);

    bool malformed = false;
    CdbFile::Position position;
    std::string key;
    while ((*file)->next(position, key, value)) {
        if (!key.starts_with(layout::kSigningDomain)) continue;
        auto& keys = snapshot->domains_[key.substr(layout::kSigningDomain.size())];
        for (auto line : layout::split_record(value, '\n')) {
            if (line.empty()) continue;
            const auto fields = layout::split_record(line, '\t');
            if (fields.size() != 3 || (fields[1] != "rsa" && fields[1] != "ed25519")) {
                malformed = true;
                continue;
            }
            keys.push_back({std::string(fields[0]), fields[1] == "rsa" ? DkimAlgorithm::Rsa : DkimAlgorithm::Ed25519,
                            std::string(fields[2])});
        }
    }
    if (position.failed) return corrupt("the file");
    if (malformed) return corrupt("a selector record");
    return std::shared_ptr<const DkimSnapshot>(std::move(snapshot));
}

const std::vector<DkimSigningKey>* DkimSnapshot::selectors(const std::string& domain) const {
    auto it = domains_.find(domain);
    return it == domains_.end() ? nullptr : &it->second;
}

}  // namespace snm
