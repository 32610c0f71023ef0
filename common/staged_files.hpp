// staged_files.hpp — all-or-nothing replacement of a set of files.
//
// Each file is written to a temporary name beside its target, fsynced and
// given its mode and owner; nothing visible changes until commit(), which
// renames every file into place and fsyncs the directories. A StagedFiles
// destroyed without commit() removes its temporary files: a failed
// `snmctl apply` leaves the disk as it found it.
#pragma once

#include <sys/types.h>

#include <functional>
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

class StagedFiles {
public:
    StagedFiles() = default;
    ~StagedFiles();
    StagedFiles(const StagedFiles&) = delete;
    StagedFiles& operator=(const StagedFiles&) = delete;

    // Writes `target` through a callback given the temporary file's
    // descriptor (for writers such as CdbBuilder that want an fd).
    Status stage(const std::string& target, const FileOwnership& ownership,
                 const std::function<Status(int fd)>& write);
    // Writes `target` with `content`.
    Status stage_content(const std::string& target, const FileOwnership& ownership, std::string_view content);

    // Renames every staged file into place, in staging order.
    Status commit();

    std::vector<std::string> targets() const;

private:
    struct Entry {
        std::string temporary;
        std::string target;
    };
    std::vector<Entry> entries_;
    bool committed_ = false;
};

// mkdir -p with `mode` for the directories it creates.
Status make_directories(const std::string& path, mode_t mode);

// The whole content of `path`.
Result<std::string> read_file(const std::string& path);

}  // namespace snm
