// staged_files.cpp — see staged_files.hpp.
#include "staged_files.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fmt/format.h>
#include <fstream>
#include <set>
#include <sstream>

namespace snm {

namespace {

std::string parent_of(const std::string& path) {
    const auto slash = path.rfind('/');
    if (slash == std::string::npos) return ".";
    if (slash == 0) return "/";
    return path.substr(0, slash);
}

Status fsync_directory(const std::string& directory) {
    const int fd = ::open(directory.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) return Error{fmt::format("cannot open directory {}: {}", directory, std::strerror(errno))};
    const int rc = ::fsync(fd);
    const int saved = errno;
    ::close(fd);
    if (rc != 0) return Error{fmt::format("fsync {} failed: {}", directory, std::strerror(saved))};
    return success();
}

}  // namespace

StagedFiles::~StagedFiles() {
    if (committed_) return;
    for (const auto& entry : entries_) ::unlink(entry.temporary.c_str());
}

Status StagedFiles::stage(const std::string& target, const FileOwnership& ownership,
                          const std::function<Status(int fd)>& write) {
    const auto slash = target.rfind('/');
    const std::string temporary =
        fmt::format("{}/.{}.snm-new.{}", parent_of(target), target.substr(slash + 1), ::getpid());
    const int fd = ::open(temporary.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0) return Error{fmt::format("cannot create {}: {}", temporary, std::strerror(errno))};
    entries_.push_back({temporary, target});

    auto fail = [&](std::string message) {
        ::close(fd);
        return Status(Error{std::move(message)});
    };
    if (auto written = write(fd); !written) return fail(written.error().message);
    if ((ownership.uid || ownership.gid) &&
        ::fchown(fd, ownership.uid.value_or(static_cast<uid_t>(-1)), ownership.gid.value_or(static_cast<gid_t>(-1))) != 0)
        return fail(fmt::format("cannot set the owner of {}: {}", target, std::strerror(errno)));
    if (::fchmod(fd, ownership.mode) != 0)
        return fail(fmt::format("cannot set the mode of {}: {}", target, std::strerror(errno)));
    if (::fsync(fd) != 0) return fail(fmt::format("fsync {} failed: {}", temporary, std::strerror(errno)));
    if (::close(fd) != 0) return Error{fmt::format("closing {} failed: {}", temporary, std::strerror(errno))};
    return success();
}

Status StagedFiles::stage_content(const std::string& target, const FileOwnership& ownership, std::string_view content) {
    return stage(target, ownership, [&](int fd) -> Status {
        std::size_t done = 0;
        while (done < content.size()) {
            const ssize_t n = ::write(fd, content.data() + done, content.size() - done);
            if (n < 0) {
                if (errno == EINTR) continue;
                return Error{fmt::format("writing {} failed: {}", target, std::strerror(errno))};
            }
            done += static_cast<std::size_t>(n);
        }
        return success();
    });
}

Status StagedFiles::commit() {
    std::set<std::string> directories;
    for (const auto& entry : entries_) {
        if (::rename(entry.temporary.c_str(), entry.target.c_str()) != 0)
            return Error{fmt::format("cannot move {} into place: {}", entry.target, std::strerror(errno))};
        directories.insert(parent_of(entry.target));
    }
    committed_ = true;
    for (const auto& directory : directories)
        if (auto synced = fsync_directory(directory); !synced) return synced;
    return success();
}

std::vector<std::string> StagedFiles::targets() const {
    std::vector<std::string> result;
    for (const auto& entry : entries_) result.push_back(entry.target);
    return result;
}

Status make_directories(const std::string& path, mode_t mode) {
    if (path.empty()) return success();
    std::string partial;
    std::size_t start = 0;
    while (start <= path.size()) {
        auto end = path.find('/', start);
        if (end == std::string::npos) end = path.size();
        partial = path.substr(0, end);
        start = end + 1;
        if (partial.empty()) continue;
        if (::mkdir(partial.c_str(), mode) != 0 && errno != EEXIST)
            return Error{fmt::format("cannot create directory {}: {}", partial, std::strerror(errno))};
    }
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0 || !S_ISDIR(st.st_mode))
        return Error{fmt::format("{} is not a directory", path)};
    return success();
}

Result<std::string> read_file(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) return Error{fmt::format("cannot read {}: {}", path, std::strerror(errno))};
    std::ostringstream text;
    text << in.rdbuf();
    return text.str();
}

}  // namespace snm
