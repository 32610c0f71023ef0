// cdb_file.hpp — a snapshot file: a constant database (tinycdb's format)
// with a format stamp checked on open; and the builder that writes one.
//
// How much of a file is mapped into memory is bounded (`map_limit`), so a
// process's memory does not grow with the number of accounts. Two readers
// need that: Dovecot caps its auth processes' address space (vsz_limit,
// 256 MB by default) and a mapping counts in full — the accounts snapshot
// of a million accounts is ≈350 MB, and a switch holds two for a moment;
// and snm-policyd, whose resident set would otherwise grow to the routing
// snapshot's size as lookups touch its pages. So:
//
//   * a file up to `map_limit` is mapped whole: a lookup is memory reads;
//   * else its hash tables (16 bytes per record, ≈¼ of the file) are mapped
//     if they fit, and records are read with pread(2) through the page
//     cache: a miss costs no system call, a hit one;
//   * else everything is read with pread: two per lookup (slots, record).
//
// Lookups copy the value into a caller's buffer, which a caller reuses, so
// they allocate nothing in the steady state. Safe from several threads
// (nothing shared is written). Every offset read from the file is checked
// against its size: a corrupt file gives Find::Failed, never a wild read.
// A reader holding a shared_ptr keeps an old snapshot readable after the
// file on disk has been replaced.
#pragma once

#include <cdb.h>

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "result.hpp"

namespace snm {

// Longest lookup key: a key prefix and an address.
inline constexpr std::size_t kMaxLookupKey = 512;

// Meta keys start with '#', which no address or domain does.
inline constexpr std::string_view kFormatKey = "#format";

// At most this much of a file is mapped (see above).
inline constexpr std::uint64_t kMaxMappedBytes = 64u << 20;

// kMaxMappedBytes, or less under a process address-space limit
// (RLIMIT_AS): during a switch two snapshots are open at once.
std::uint64_t default_map_limit();

enum class Find { Found, NotFound, Failed };

class CdbFile {
public:
    // Opens `path` (mapping at most `map_limit` bytes of it) and checks
    // its "#format" stamp equals `expected_format` (e.g. "snm-accounts 1").
    // Errors name the path and what to do.
    static Result<std::shared_ptr<const CdbFile>> open(const std::string& path, std::string_view expected_format,
                                                       std::uint64_t map_limit = default_map_limit());

    ~CdbFile();
    CdbFile(const CdbFile&) = delete;
    CdbFile& operator=(const CdbFile&) = delete;

    // The value of `key` into `value` (its previous content is replaced).
    // Keys longer than kMaxLookupKey are never found.
    Find find(std::string_view key, std::string& value) const;
    // The same for prefix + lower-cased `name`.
    Find find_folded(std::string_view prefix, std::string_view name, std::string& value) const;

    // Sequential reading of every record, in file order. Start with
    // Position{}; next() returns false at the end or on a read error (then
    // position.failed is true).
    struct Position {
        std::uint32_t offset = 0;  // 0: not started
        bool failed = false;
    };
    bool next(Position& position, std::string& key, std::string& value) const;

    const std::string& path() const { return path_; }
    std::uint64_t size_bytes() const { return size_; }
    // How much of the file is mapped: all of it, its hash tables, or none.
    std::uint64_t mapped_bytes() const { return map_length_; }

private:
    CdbFile() = default;
    // Maps [offset, size_) of the file (`offset` a multiple of the page size).
    Status map_from(std::uint64_t offset);
    // Copies `size` bytes at `offset` into `buffer`; false when out of bounds or unreadable.
    bool read_at(std::uint64_t offset, void* buffer, std::size_t size) const;
    // `size` bytes at `offset`: in the mapping, or read into `buffer`; nullptr as read_at's false.
    const unsigned char* bytes_at(std::uint64_t offset, std::size_t size, unsigned char* buffer) const;

    static constexpr std::size_t kTables = 256;
    std::string path_;
    int fd_ = -1;
    const char* map_ = nullptr;     // bytes [map_offset_, size_) of the file, when mapped
    std::uint64_t map_offset_ = 0;
    std::uint64_t map_length_ = 0;
    std::uint64_t size_ = 0;
    std::uint32_t records_end_ = 0;  // records lie in [header, records_end_)
    std::array<std::uint32_t, 2 * kTables> header_{};  // (table position, slot count) per table
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
