// change_report.cpp — see change_report.hpp.
#include "change_report.hpp"

#include <sys/stat.h>

#include <fmt/format.h>

#include <map>

#include "cdb_file.hpp"
#include "run_program.hpp"
#include "snapshot_layout.hpp"

namespace snm::ctl {

namespace {

// Each snapshot's format stamp, by file name.
const std::map<std::string_view, std::string_view> kSnapshotFormats = {
    {layout::kAccountsFile, layout::kAccountsFormat},
    {layout::kRoutingFile, layout::kRoutingFormat},
    {layout::kDkimFile, layout::kDkimFormat},
};

// What a snapshot key names, by its prefix (snapshot_layout.hpp); "#…"
// keys are settings.
std::string describe_key(const std::string& key) {
    static const std::vector<std::pair<std::string_view, std::string_view>> kinds = {
        {layout::kPassword, "password of"},     {layout::kUserdb, "mailbox settings of"},
        {layout::kDomain, "domain"},            {layout::kMailbox, "mailbox"},
        {layout::kSendOnly, "send-only account"}, {layout::kAlias, "alias"},
        {layout::kCatchAll, "catch-all of"},    {layout::kSenderOwners, "who may send as"},
        {layout::kRegexAlias, "regex alias"},   {layout::kRejectSender, "rejected sender"},
        {layout::kRejectRecipient, "rejected recipient"}, {layout::kSigningDomain, "DKIM keys of"},
    };
    if (key.starts_with('#')) return fmt::format("setting {}", key.substr(1));
    for (const auto& [prefix, what] : kinds)
        if (key.starts_with(prefix)) return fmt::format("{} {}", what, key.substr(prefix.size()));
    return fmt::format("record {}", key);
}

Result<std::map<std::string, std::string>> records(const std::string& path, std::string_view format) {
    auto cdb = CdbFile::open(path, format);
    if (!cdb) return cdb.error();
    std::map<std::string, std::string> all;
    CdbFile::Position position;
    std::string key, value;
    while ((*cdb)->next(position, key, value)) all[key] = value;
    if (position.failed) return Error{fmt::format("cannot read {}", path)};
    return all;
}

// Record keys only: values may hold password hashes.
Result<std::string> snapshot_changes(const StagedChange& change, std::string_view format) {
    std::map<std::string, std::string> before;
    if (change.target_exists) {
        auto old = records(change.target, format);
        if (!old) return old.error();
        before = std::move(*old);
    }
    auto after = records(change.staged, format);
    if (!after) return after.error();
    std::string out = fmt::format("{}:\n", change.target);
    for (const auto& [key, value] : *after) {
        const auto old = before.find(key);
        if (old == before.end()) out += fmt::format("  + {}\n", describe_key(key));
        else if (old->second != value) out += fmt::format("  ~ {}\n", describe_key(key));
    }
    for (const auto& [key, value] : before)
        if (!after->contains(key)) out += fmt::format("  - {}\n", describe_key(key));
    return out;
}

Result<std::string> file_diff(const StagedChange& change) {
    auto diff = run_program({"diff", "-u", "--label", change.target, "--label", change.target + " (new)",
                             change.target_exists ? change.target : "/dev/null", change.staged},
                            "install diffutils", kMaxDiffBytes);
    if (!diff) return diff.error();
    return diff->output;
}

}  // namespace

Result<std::vector<std::string>> describe_changes(const std::vector<StagedChange>& changes) {
    std::vector<std::string> blocks;
    for (const auto& change : changes) {
        const std::string name = change.target.substr(change.target.rfind('/') + 1);
        struct stat staged {};
        if (::stat(change.staged.c_str(), &staged) != 0) return Error{fmt::format("{} vanished", change.staged)};
        if (!change.content_changed) {
            blocks.push_back(fmt::format("{}: owner or mode changes to {:04o} {}:{}\n", change.target,
                                         staged.st_mode & 07777, staged.st_uid, staged.st_gid));
        } else if (const auto format = kSnapshotFormats.find(name); format != kSnapshotFormats.end()) {
            auto described = snapshot_changes(change, format->second);
            if (!described) return described.error();
            blocks.push_back(std::move(*described));
        } else if ((staged.st_mode & S_IROTH) == 0) {
            blocks.push_back(fmt::format("{}: {} (a secret: contents not shown)\n", change.target,
                                         change.target_exists ? "changes" : "is created"));
        } else {
            auto diff = file_diff(change);
            if (!diff) return diff.error();
            blocks.push_back(std::move(*diff));
        }
    }
    return blocks;
}

}  // namespace snm::ctl
