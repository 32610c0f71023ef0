// cdb_reader.cpp — see cdb_reader.hpp. The format (D. J. Bernstein's cdb, as
// tinycdb writes it): a 2048-byte header of 256 (position, slot count) pairs,
// the records (key length, value length, key, value), then the 256 hash
// tables of (hash, record position) slots. All numbers are 32-bit little
// endian; a key's hash picks the table (hash & 255) and the first slot
// ((hash >> 8) % slots), probed linearly until an empty slot.
#include "cdb_reader.hpp"

#include <cdb.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <pthread.h>
#include <signal.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include <fmt/format.h>

#include "cdb_file.hpp"

namespace snm::dovecot {

namespace {

constexpr std::uint32_t kHeaderSize = 2048;
constexpr std::uint32_t kSlotSize = 8;
constexpr std::uint32_t kRecordHeaderSize = 8;
// Slots read per pread while probing; most lookups need one or two.
constexpr std::uint32_t kSlotsPerRead = 8;
// Bytes of a record read in the first pread beyond its header and key;
// userdb fields and password hashes fit.
constexpr std::uint32_t kValueGuess = 512;

// Closing the last descriptor of a replaced snapshot frees the file's
// blocks: ≈60 ms for a 350 MB file, a stall for every request queued in
// Dovecot's single-threaded auth process. Files this large are closed by a
// short-lived thread instead: a small stack, all signals blocked, and no
// allocation in it (a thread's first malloc would reserve a 64 MB arena,
// which counts against Dovecot's vsz_limit). The mapping, if any, is
// removed first, here: with the descriptor still open that frees nothing.
constexpr std::uint64_t kReleaseInBackgroundBytes = 16u << 20;
constexpr std::size_t kCloserStackBytes = 64u << 10;

void* close_descriptor(void* fd) {
    ::close(static_cast<int>(reinterpret_cast<std::intptr_t>(fd)));
    return nullptr;
}

void release(int fd, const char* map, std::uint64_t size) {
    if (map != nullptr) ::munmap(const_cast<char*>(map), size);
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

Result<std::shared_ptr<const CdbReader>> CdbReader::open(const std::string& path, std::string_view expected_format,
                                                         std::uint64_t map_limit) {
    std::shared_ptr<CdbReader> reader(new CdbReader());
    reader->path_ = path;
    reader->fd_ = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (reader->fd_ < 0)
        return Error{fmt::format("cannot open snapshot {}: {}{}", path, std::strerror(errno),
                                 errno == ENOENT ? " (run `snmctl apply` to create it)" : ""),
                     true};
    struct stat st {};
    if (::fstat(reader->fd_, &st) != 0)
        return Error{fmt::format("cannot stat snapshot {}: {}", path, std::strerror(errno)), true};
    reader->size_ = static_cast<std::uint64_t>(st.st_size);
    const auto corrupt = [&](std::string_view what) {
        return Error{fmt::format("snapshot {} is not a constant database ({}: truncated or corrupt?); "
                                 "run `snmctl apply` to rewrite it",
                                 path, what),
                     true};
    };
    if (reader->size_ < kHeaderSize || reader->size_ > UINT32_MAX) return corrupt("size");
    if (reader->size_ <= map_limit) {
        void* map = ::mmap(nullptr, reader->size_, PROT_READ, MAP_SHARED, reader->fd_, 0);
        if (map == MAP_FAILED)
            return Error{fmt::format("cannot map snapshot {} ({} bytes): {}", path, reader->size_,
                                     std::strerror(errno)),
                         true};
        reader->map_ = static_cast<const char*>(map);
    }
    unsigned char header[kHeaderSize];
    if (!reader->read_at(0, header, sizeof header))
        return Error{fmt::format("cannot read snapshot {}: {}", path, std::strerror(errno)), true};
    reader->records_end_ = static_cast<std::uint32_t>(reader->size_);
    for (std::size_t t = 0; t < kTables; ++t) {
        const std::uint32_t position = le32(header + 8 * t), slots = le32(header + 8 * t + 4);
        if (position < kHeaderSize || position > reader->size_ ||
            std::uint64_t(slots) * kSlotSize > reader->size_ - position)
            return corrupt("hash table out of bounds");
        reader->header_[2 * t] = position;
        reader->header_[2 * t + 1] = slots;
        reader->records_end_ = std::min(reader->records_end_, position);
    }
    std::string format;
    switch (reader->find(kFormatKey, format)) {
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
    return std::shared_ptr<const CdbReader>(std::move(reader));
}

CdbReader::~CdbReader() { release(fd_, map_, size_); }

bool CdbReader::read_at(std::uint64_t offset, void* buffer, std::size_t size) const {
    if (offset > size_ || size > size_ - offset) return false;
    if (map_ != nullptr) {
        std::memcpy(buffer, map_ + offset, size);
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

CdbReader::Find CdbReader::find(std::string_view key, std::string& value) const {
    const unsigned hash = cdb_hash(key.data(), static_cast<unsigned>(key.size()));
    const std::uint32_t table = header_[2 * (hash & 255)], slots = header_[2 * (hash & 255) + 1];
    if (slots == 0) return Find::NotFound;
    std::uint32_t slot = (hash >> 8) % slots;
    unsigned char batch[kSlotsPerRead * kSlotSize];
    std::uint32_t batch_first = 0, batch_count = 0;
    std::string record;
    for (std::uint32_t probed = 0; probed < slots; ++probed, slot = (slot + 1) % slots) {
        if (slot < batch_first || slot >= batch_first + batch_count) {
            batch_first = slot;
            batch_count = std::min(kSlotsPerRead, slots - slot);
            if (!read_at(std::uint64_t(table) + std::uint64_t(slot) * kSlotSize, batch, batch_count * kSlotSize))
                return Find::Failed;
        }
        const unsigned char* entry = batch + (slot - batch_first) * kSlotSize;
        const std::uint32_t slot_hash = le32(entry), position = le32(entry + 4);
        if (position == 0) return Find::NotFound;
        if (slot_hash != hash) continue;
        if (position < kHeaderSize || position >= records_end_) return Find::Failed;
        // Header, key and (usually) the whole value in one read.
        const std::uint64_t available = records_end_ - position;
        record.resize(static_cast<std::size_t>(
            std::min<std::uint64_t>(available, kRecordHeaderSize + key.size() + kValueGuess)));
        if (record.size() < kRecordHeaderSize || !read_at(position, record.data(), record.size()))
            return Find::Failed;
        const auto* bytes = reinterpret_cast<const unsigned char*>(record.data());
        const std::uint32_t key_length = le32(bytes), value_length = le32(bytes + 4);
        if (kRecordHeaderSize + std::uint64_t(key_length) + value_length > available) return Find::Failed;
        if (key_length != key.size()) continue;
        if (record.size() < kRecordHeaderSize + key_length) return Find::Failed;
        if (std::string_view(record).substr(kRecordHeaderSize, key_length) != key) continue;
        const std::size_t value_start = kRecordHeaderSize + key_length;
        const std::size_t have = std::min<std::size_t>(value_length, record.size() - value_start);
        value.assign(record, value_start, have);
        if (have < value_length) {
            value.resize(value_length);
            if (!read_at(position + value_start + have, value.data() + have, value_length - have))
                return Find::Failed;
        }
        return Find::Found;
    }
    return Find::NotFound;
}

bool CdbReader::next(Position& position, std::string& key) const {
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
    const std::uint64_t end = std::uint64_t(position.offset) + kRecordHeaderSize + key_length + value_length;
    key.resize(key_length);
    if (end > records_end_ || !read_at(position.offset + kRecordHeaderSize, key.data(), key_length)) {
        position.failed = true;
        return false;
    }
    position.offset = static_cast<std::uint32_t>(end);
    return true;
}

}  // namespace snm::dovecot
