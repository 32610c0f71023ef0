// cdb_file.cpp — see cdb_file.hpp.
#include "cdb_file.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstring>
#include <fmt/format.h>

namespace snm {

Result<std::shared_ptr<const CdbFile>> CdbFile::open(const std::string& path, std::string_view expected_format) {
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return Error{fmt::format("cannot open snapshot {}: {}{}", path, std::strerror(errno),
                                 errno == ENOENT ? " (run `snmctl apply` to create it)" : ""),
                     true};
    std::shared_ptr<CdbFile> file(new CdbFile());
    file->path_ = path;
    file->fd_ = fd;
    errno = 0;
    if (cdb_init(&file->cdb_, fd) != 0) {
        // tinycdb fails on fstat/mmap errors and, with EPROTO, on a file too
        // short to be a database: say which.
        if (errno != 0 && errno != EPROTO)
            return Error{fmt::format("cannot map snapshot {}: {}{}", path, std::strerror(errno),
                                     errno == ENOMEM ? " (a process memory limit such as Dovecot's vsz_limit?)" : ""),
                         true};
        return Error{fmt::format("snapshot {} is not a constant database (truncated or corrupt?); "
                                 "run `snmctl apply` to rewrite it", path),
                     true};
    }
    const auto format = file->find(kFormatKey);
    if (!format)
        return Error{fmt::format("{} is not an snm snapshot (no format stamp); expected \"{}\"", path, expected_format), true};
    if (*format != expected_format)
        return Error{fmt::format("snapshot {} has format \"{}\", but this program reads \"{}\"; "
                                 "run the `snmctl apply` that matches this version",
                                 path, *format, expected_format),
                     true};
    return std::shared_ptr<const CdbFile>(std::move(file));
}

CdbFile::~CdbFile() {
    if (cdb_.cdb_mem) cdb_free(&cdb_);
    if (fd_ >= 0) ::close(fd_);
}

std::optional<std::string_view> CdbFile::find(std::string_view key) const {
    cdb cursor = cdb_;  // the shared struct is never written: lookups stay thread-safe
    if (cdb_find(&cursor, key.data(), static_cast<unsigned>(key.size())) <= 0) return std::nullopt;
    return std::string_view(static_cast<const char*>(cdb_getdata(&cursor)), cdb_datalen(&cursor));
}

std::optional<std::string_view> CdbFile::find_folded(std::string_view prefix, std::string_view name) const {
    std::array<char, kMaxLookupKey> key;
    if (prefix.size() + name.size() > key.size()) return std::nullopt;
    std::memcpy(key.data(), prefix.data(), prefix.size());
    for (std::size_t i = 0; i < name.size(); ++i) {
        const char c = name[i];
        key[prefix.size() + i] = (c >= 'A' && c <= 'Z') ? static_cast<char>(c + ('a' - 'A')) : c;
    }
    return find(std::string_view(key.data(), prefix.size() + name.size()));
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
