// cdb_file.cpp — see cdb_file.hpp. The format (D. J. Bernstein's cdb, as
// tinycdb writes it): a 2048-byte header of 256 (position, slot count) pairs,
// the records (key length, value length, key, value), then the 256 hash
// tables of (hash, record position) slots. All numbers are 32-bit little
// endian; a key's hash picks the table (hash & 255) and the first slot
// ((hash >> 8) % slots), probed linearly until an empty slot.
#include "cdb_file.hpp"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <pthread.h>
#include <signal.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include <fmt/format.h>

#include "ascii.hpp"

namespace snm {

namespace {

constexpr std::uint32_t kHeaderSize = 2048;
constexpr std::uint32_t kSlotSize = 8;
constexpr std::uint32_t kRecordHeaderSize = 8;
// Slots read per pread while probing; most lookups need one or two.
constexpr std::uint32_t kSlotsPerRead = 8;
// Bytes of a record read in the first pread beyond its header and key;
// userdb fields, password hashes and routing answers fit.
constexpr std::uint32_t kValueGuess = 512;

// Closing the last descriptor of a replaced snapshot frees the file's
// blocks: ≈60 ms for a 350 MB file, a stall for every request queued in
// Dovecot's single-threaded auth process or in snm-policyd's event loop.
// Files this large are closed by a short-lived thread instead: a small
// stack, all signals blocked, and no allocation in it (a thread's first malloc would reserve a 64 MB arena,
// which counts against Dovecot's vsz_limit). The mapping, if any, is
// removed first, here: with the descriptor still open that frees nothing.
constexpr std::uint64_t kReleaseInBackgroundBytes = 16u << 20;
constexpr std::size_t kCloserStackBytes = 64u << 10;

void* close_descriptor(void* fd) {
    ::close(static_cast<int>(reinterpret_cast<std::intptr_t>(fd)));
    return nullptr;
}

void release(int fd, const char* map, std::uint64_t map_length, std::uint64_t size) {
    if (map != nullptr) ::munmap(const_cast<char*>(map), map_length);
    if (fd < 0) return;
    if (size >= kReleaseInBackgroundBytes) {
        pthread_attr_t attributes;
        pthread_attr_init(&attributes);
        pthread_attr_setstacksize(&attributes, kCloserStackBytes);
        pthread_attr_setdetachstate(&attributes, PTHREAD_CREATE_DETACHED);
        sigset_t all, previous;
        sigfillset(&all);
        pthread_sigmask(SIG_SETMASK, &all, &previous);
        pthread_t thread;
        const int created = pthread_create(&thread, &attributes, close_descriptor,
                                           reinterpret_cast<void*>(static_cast<std::intptr_t>(fd)));
        pthread_sigmask(SIG_SETMASK, &previous, nullptr);
        pthread_attr_destroy(&attributes);
        if (created == 0) return;
    }
    ::close(fd);  // small, or no thread to be had: pay the stall
}

std::uint32_t le32(const unsigned char* p) {
    return std::uint32_t(p[0]) | std::uint32_t(p[1]) << 8 | std::uint32_t(p[2]) << 16 | std::uint32_t(p[3]) << 24;
}

}  // namespace

std::uint64_t default_map_limit() {
    rlimit limit{};
    if (::getrlimit(RLIMIT_AS, &limit) != 0 || limit.rlim_cur == RLIM_INFINITY) return kMaxMappedBytes;
    constexpr std::uint64_t kAddressSpaceShare = 4;
    return std::min<std::uint64_t>(kMaxMappedBytes, limit.rlim_cur / kAddressSpaceShare);
}

Result<std::shared_ptr<const CdbFile>> CdbFile::open(const std::string& path, std::string_view expected_format,
                                                     std::uint64_t map_limit) {
    std::shared_ptr<CdbFile> file(new CdbFile());
    file->path_ = path;
    file->fd_ = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (file->fd_ < 0)
        return Error{fmt::format("cannot open snapshot {}: {}{}", path, std::strerror(errno),
                                 errno == ENOENT ? " (run `snmctl apply` to create it)" : ""),
                     true};
    struct stat st {};
    if (::fstat(file->fd_, &st) != 0)
        return Error{fmt::format("cannot stat snapshot {}: {}", path, std::strerror(errno)), true};
    file->size_ = static_cast<std::uint64_t>(st.st_size);
    const auto corrupt = [&](std::string_view what) {
        return Error{fmt::format("snapshot {} is not a constant database ({}: truncated or corrupt?); "
                                 "run `snmctl apply` to rewrite it",
                                 path, what),
                     true};
    };
    if (file->size_ < kHeaderSize || file->size_ > UINT32_MAX) return corrupt("size");
    unsigned char header[kHeaderSize];
    if (!file->read_at(0, header, sizeof header))
        return Error{fmt::format("cannot read snapshot {}: {}", path, std::strerror(errno)), true};
    file->records_end_ = static_cast<std::uint32_t>(file->size_);
    for (std::size_t t = 0; t < kTables; ++t) {
        const std::uint32_t position = le32(header + 8 * t), slots = le32(header + 8 * t + 4);
        if (position < kHeaderSize || position > file->size_ ||
            std::uint64_t(slots) * kSlotSize > file->size_ - position)
            return corrupt("hash table out of bounds");
        file->header_[2 * t] = position;
        file->header_[2 * t + 1] = slots;
        file->records_end_ = std::min(file->records_end_, position);
    }
    // The whole file, or else the hash tables (which follow the records), if they fit.
    const auto page = static_cast<std::uint64_t>(::sysconf(_SC_PAGESIZE));
    const std::uint64_t tables_from = file->records_end_ / page * page;
    const std::uint64_t map_from = file->size_ <= map_limit                ? 0
                                   : file->size_ - tables_from <= map_limit ? tables_from
                                                                            : file->size_;
    if (map_from < file->size_)
        if (auto mapped = file->map_from(map_from); !mapped) return mapped.error();
    std::string format;
    switch (file->find(kFormatKey, format)) {
        case Find::Failed: return corrupt("unreadable record");
        case Find::NotFound:
            return Error{fmt::format("{} is not an snm snapshot (no format stamp); expected \"{}\"", path,
                                     expected_format),
                         true};
        case Find::Found: break;
    }
    if (format != expected_format)
        return Error{fmt::format("snapshot {} has format \"{}\", but this program reads \"{}\"; "
                                 "run the `snmctl apply` that matches this version",
                                 path, format, expected_format),
                     true};
    return std::shared_ptr<const CdbFile>(std::move(file));
}

CdbFile::~CdbFile() { release(fd_, map_, map_length_, size_); }

Status CdbFile::map_from(std::uint64_t offset) {
    const std::uint64_t length = size_ - offset;
    void* map = ::mmap(nullptr, length, PROT_READ, MAP_SHARED, fd_, static_cast<off_t>(offset));
    if (map == MAP_FAILED)
        return Error{fmt::format("cannot map snapshot {} ({} bytes): {}", path_, length, std::strerror(errno)), true};
    map_ = static_cast<const char*>(map);
    map_offset_ = offset;
    map_length_ = length;
    return success();
}

bool CdbFile::read_at(std::uint64_t offset, void* buffer, std::size_t size) const {
    if (offset > size_ || size > size_ - offset) return false;
    if (map_ != nullptr && offset >= map_offset_) {
        std::memcpy(buffer, map_ + (offset - map_offset_), size);
        return true;
    }
    auto* out = static_cast<char*>(buffer);
    while (size > 0) {
        const auto n = ::pread(fd_, out, size, static_cast<off_t>(offset));
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return false;
        out += n;
        offset += static_cast<std::uint64_t>(n);
        size -= static_cast<std::size_t>(n);
    }
    return true;
}

const unsigned char* CdbFile::bytes_at(std::uint64_t offset, std::size_t size, unsigned char* buffer) const {
    if (map_ != nullptr && offset >= map_offset_)
        return offset <= size_ && size <= size_ - offset
                   ? reinterpret_cast<const unsigned char*>(map_ + (offset - map_offset_))
                   : nullptr;
    return read_at(offset, buffer, size) ? buffer : nullptr;
}

Find CdbFile::find(std::string_view key, std::string& value) const {
    if (key.size() > kMaxLookupKey) return Find::NotFound;
    const unsigned hash = cdb_hash(key.data(), static_cast<unsigned>(key.size()));
    const std::uint32_t table = header_[2 * (hash & 255)], slots = header_[2 * (hash & 255) + 1];
    if (slots == 0) return Find::NotFound;
    std::uint32_t slot = (hash >> 8) % slots;
    unsigned char batch_buffer[kSlotsPerRead * kSlotSize];
    const unsigned char* batch = nullptr;
    std::uint32_t batch_first = 0, batch_count = 0;
    unsigned char record_buffer[kRecordHeaderSize + kMaxLookupKey + kValueGuess];
    for (std::uint32_t probed = 0; probed < slots; ++probed, slot = (slot + 1) % slots) {
        if (slot < batch_first || slot >= batch_first + batch_count) {
            batch_first = slot;
            batch_count = std::min(kSlotsPerRead, slots - slot);
            batch = bytes_at(std::uint64_t(table) + std::uint64_t(slot) * kSlotSize, batch_count * kSlotSize,
                             batch_buffer);
            if (batch == nullptr) return Find::Failed;
        }
        const unsigned char* entry = batch + (slot - batch_first) * kSlotSize;
        const std::uint32_t slot_hash = le32(entry), position = le32(entry + 4);
        if (position == 0) return Find::NotFound;
        if (slot_hash != hash) continue;
        if (position < kHeaderSize || position >= records_end_) return Find::Failed;
        // Header, key and (usually) the whole value at once.
        const std::uint64_t available = records_end_ - position;
        const auto first = static_cast<std::size_t>(
            std::min<std::uint64_t>(available, kRecordHeaderSize + key.size() + kValueGuess));
        if (first < kRecordHeaderSize) return Find::Failed;
        const unsigned char* record = bytes_at(position, first, record_buffer);
        if (record == nullptr) return Find::Failed;
        const std::uint32_t key_length = le32(record), value_length = le32(record + 4);
        if (kRecordHeaderSize + std::uint64_t(key_length) + value_length > available) return Find::Failed;
        // From here the record lies within the file, so `first` covers the key.
        if (key_length != key.size() || std::memcmp(record + kRecordHeaderSize, key.data(), key.size()) != 0)
            continue;
        const std::size_t value_start = kRecordHeaderSize + key_length;
        const std::size_t have = std::min<std::size_t>(value_length, first - value_start);
        value.assign(reinterpret_cast<const char*>(record) + value_start, have);
        if (have < value_length) {
            value.resize(value_length);
            if (!read_at(position + value_start + have, value.data() + have, value_length - have))
                return Find::Failed;
        }
        return Find::Found;
    }
    return Find::NotFound;
}

Find CdbFile::find_folded(std::string_view prefix, std::string_view name, std::string& value) const {
    std::array<char, kMaxLookupKey> key;
    if (prefix.size() + name.size() > key.size()) return Find::NotFound;
    std::memcpy(key.data(), prefix.data(), prefix.size());
    for (std::size_t i = 0; i < name.size(); ++i) key[prefix.size() + i] = ascii_lower(name[i]);
    return find(std::string_view(key.data(), prefix.size() + name.size()), value);
}

bool CdbFile::next(Position& position, std::string& key, std::string& value) const {
    if (position.failed) return false;
    if (position.offset == 0) position.offset = kHeaderSize;
    if (position.offset >= records_end_) return false;
    unsigned char header[kRecordHeaderSize];
    if (std::uint64_t(position.offset) + kRecordHeaderSize > records_end_ ||
        !read_at(position.offset, header, sizeof header)) {
        position.failed = true;
        return false;
    }
    const std::uint32_t key_length = le32(header), value_length = le32(header + 4);
    const std::uint64_t key_start = std::uint64_t(position.offset) + kRecordHeaderSize;
    const std::uint64_t end = key_start + key_length + value_length;
    if (end > records_end_) {
        position.failed = true;
        return false;
    }
    key.resize(key_length);
    value.resize(value_length);
    if (!read_at(key_start, key.data(), key_length) || !read_at(key_start + key_length, value.data(), value_length)) {
        position.failed = true;
        return false;
    }
    position.offset = static_cast<std::uint32_t>(end);
    return true;
}

CdbBuilder::CdbBuilder(int fd) { cdb_make_start(&make_, fd); }

CdbBuilder::~CdbBuilder() {
    if (!finished_) cdb_make_finish(&make_);  // frees the builder's memory; the file is discarded by its owner
}

Status CdbBuilder::add(std::string_view key, std::string_view value) {
    if (cdb_make_add(&make_, key.data(), static_cast<unsigned>(key.size()), value.data(),
                     static_cast<unsigned>(value.size())) != 0)
        return Error{fmt::format("writing snapshot record failed: {}", std::strerror(errno))};
    return success();
}

Status CdbBuilder::finish() {
    finished_ = true;
    if (cdb_make_finish(&make_) != 0)
        return Error{fmt::format("finishing snapshot failed: {}", std::strerror(errno))};
    return success();
}

}  // namespace snm
