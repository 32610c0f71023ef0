// cdb_file.hpp — a snapshot file: a constant database (tinycdb) mapped into
// memory, with a format stamp checked on open.
//
// Lookups return views into the mapping and allocate nothing; they are safe
// from several threads at once (each lookup works on its own copy of the
// small tinycdb cursor). The mapping lives as long as the CdbFile, so a
// reader holding a shared_ptr keeps an old snapshot valid after the file on
// disk has been replaced.
#pragma once

#include <sys/types.h>

#include <cdb.h>

#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "result.hpp"

namespace snm {

// Longest lookup key: a key prefix and an address.
inline constexpr std::size_t kMaxLookupKey = 512;

// Meta keys start with '#', which no address or domain does.
inline constexpr std::string_view kFormatKey = "#format";

class CdbFile {
public:
    // Maps `path` and checks its "#format" stamp equals `expected_format`
    // (e.g. "snm-accounts 1"). Errors name the path and what to do.
    static Result<std::shared_ptr<const CdbFile>> open(const std::string& path, std::string_view expected_format);

    ~CdbFile();
    CdbFile(const CdbFile&) = delete;
    CdbFile& operator=(const CdbFile&) = delete;

    std::optional<std::string_view> find(std::string_view key) const;
    // Looks up prefix + lower-cased `name` without allocating. Names longer
    // than kMaxLookupKey are never found.
    std::optional<std::string_view> find_folded(std::string_view prefix, std::string_view name) const;

    // Calls visit(key, value) for every record whose key starts with `prefix`,
    // in file order.
    template <typename Visitor>
    void for_each(std::string_view prefix, Visitor&& visit) const {
        unsigned position;
        cdb_seqinit(&position, &cdb_);
        cdb cursor = cdb_;
        while (cdb_seqnext(&position, &cursor) > 0) {
            std::string_view key(static_cast<const char*>(cdb_getkey(&cursor)), cdb_keylen(&cursor));
            if (!key.starts_with(prefix)) continue;
            visit(key.substr(prefix.size()),
                  std::string_view(static_cast<const char*>(cdb_getdata(&cursor)), cdb_datalen(&cursor)));
        }
    }

    const std::string& path() const { return path_; }
    std::size_t size_bytes() const { return cdb_.cdb_fsize; }

private:
    CdbFile() = default;
    std::string path_;
    int fd_ = -1;
    mutable cdb cdb_{};
};

// Builds a CDB into an open file descriptor (tinycdb's cdb_make).
class CdbBuilder {
public:
    explicit CdbBuilder(int fd);
    ~CdbBuilder();
    CdbBuilder(const CdbBuilder&) = delete;
    CdbBuilder& operator=(const CdbBuilder&) = delete;

    Status add(std::string_view key, std::string_view value);
    Status finish();

private:
    cdb_make make_{};
    bool finished_ = false;
};

}  // namespace snm
