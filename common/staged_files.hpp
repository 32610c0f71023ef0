// staged_files.hpp — all-or-nothing replacement of a set of files.
//
// Each file is written to a temporary name beside its target, fsynced and
// given its mode and owner; nothing visible changes until commit(), which
// renames every changed file into place and fsyncs the directories. A file
// whose content, mode and owner are already the target's is left alone (its
// target keeps its mtime; a second `snmctl apply` changes nothing). If a
// rename fails half-way, the files already renamed are put back as they
// were. A StagedFiles destroyed without commit() removes its temporary
// files: a failed `snmctl apply` leaves the disk as it found it.
//
// A preview (`snmctl apply --dry-run`) stages into a scratch directory of
// its own instead and can only report changes(), never commit.
#pragma once

#include <sys/types.h>

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "result.hpp"

namespace snm {

struct FileOwnership {
    mode_t mode = 0644;
    std::optional<uid_t> uid;  // unchanged when unset
    std::optional<gid_t> gid;
};

// A staged file that differs from its target.
struct StagedChange {
    std::string target;
    std::string staged;   // the temporary file holding the new content
    bool target_exists;
    bool content_changed; // false: only the mode or the owner changes
};

class StagedFiles {
public:
    StagedFiles() = default;
    // A preview: stages into a fresh scratch directory (removed with it).
    static Result<std::unique_ptr<StagedFiles>> preview();
    ~StagedFiles();
    StagedFiles(const StagedFiles&) = delete;
    StagedFiles& operator=(const StagedFiles&) = delete;

    // Writes `target` through a callback given the temporary file's
    // descriptor (for writers such as CdbBuilder that want an fd).
    Status stage(const std::string& target, const FileOwnership& ownership,
                 const std::function<Status(int fd)>& write);
    // Writes `target` with `content`.
    Status stage_content(const std::string& target, const FileOwnership& ownership, std::string_view content);

    // The staged files that differ from their targets, in staging order.
    Result<std::vector<StagedChange>> changes() const;

    // Renames every changed file into place, in staging order, and returns
    // their targets; on error every target is as it was before.
    Result<std::vector<std::string>> commit();

    bool is_preview() const { return !scratch_.empty(); }

private:
    struct Entry {
        std::string temporary;
        std::string target;
    };
    std::string temporary_for(const std::string& target) const;
    std::vector<Entry> entries_;
    std::string scratch_;  // a preview's directory
    bool committed_ = false;
};

// mkdir -p with `mode` for the directories it creates.
Status make_directories(const std::string& path, mode_t mode);

// The whole content of `path`.
Result<std::string> read_file(const std::string& path);

// The directory holding `path` ("." for a bare name, "/" for "/x").
std::string parent_directory(const std::string& path);

// Whether the name `path` exists: a file, a directory, or a symbolic link
// even when it leads nowhere (a dangling link is the administrator's, not
// a free name to write).
bool path_exists(const std::string& path);

}  // namespace snm
