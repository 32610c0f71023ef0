// cdb_reader.hpp — a constant database (tinycdb's format, as common/'s
// CdbBuilder writes it), mapped when small, read with pread(2) when large.
//
// Why not common/'s CdbFile, which always maps: Dovecot caps its auth
// processes' address space (auth's default vsz_limit is 256 MB), and a
// mapping counts in full. The accounts snapshot of a million accounts is
// ≈350 MB, and a switch holds two for a moment. Read through the page cache
// instead, the module's memory stays a few kilobytes whatever the number of
// accounts, and opening a new snapshot reads only the 2 KB header; a lookup
// then costs two small preads (the hash slots, then the record), ≈4 µs more
// than in a mapping. So a file up to `map_limit` bytes is mapped (fastest),
// a larger one is read (flat memory). Both ways go through the same checked
// reads.
//
// Safe from several threads (pread only; nothing shared is written). A
// large file is closed by a short-lived thread when the reader goes, so that
// freeing a replaced file's blocks stalls no lookup.
// Every offset read from the file is checked against its size: a corrupt
// file gives Failed, never a wild read.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "result.hpp"

namespace snm::dovecot {

class CdbReader {
public:
    // Opens `path` (mapped if it has at most `map_limit` bytes) and checks
    // its "#format" stamp (common's kFormatKey) equals `expected_format`.
    // Errors name the path and the cause.
    static Result<std::shared_ptr<const CdbReader>> open(const std::string& path, std::string_view expected_format,
                                                         std::uint64_t map_limit);

    ~CdbReader();
    CdbReader(const CdbReader&) = delete;
    CdbReader& operator=(const CdbReader&) = delete;

    enum class Find { Found, NotFound, Failed };
    // The value of `key` into `value` (its previous content is replaced).
    Find find(std::string_view key, std::string& value) const;

    // Sequential reading of every record, for iteration. Start with
    // Position{}; next() returns false at the end or on a read error
    // (then failed() is true).
    struct Position {
        std::uint32_t offset = 0;  // 0: not started
        bool failed = false;
    };
    bool next(Position& position, std::string& key) const;

    const std::string& path() const { return path_; }
    bool mapped() const { return map_ != nullptr; }

private:
    CdbReader() = default;
    bool read_at(std::uint64_t offset, void* buffer, std::size_t size) const;

    static constexpr std::size_t kTables = 256;
    std::string path_;
    int fd_ = -1;
    const char* map_ = nullptr;  // the whole file, when mapped
    std::uint64_t size_ = 0;
    std::uint32_t records_end_ = 0;  // records lie in [kHeaderSize, records_end_)
    std::array<std::uint32_t, 2 * kTables> header_{};  // (table position, slot count) per table
};

}  // namespace snm::dovecot
