// staged_files.cpp — see staged_files.hpp.
#include "staged_files.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fmt/format.h>
#include <algorithm>
#include <fstream>
#include <iterator>
#include <set>
#include <sstream>

namespace snm {

namespace {

Status fsync_directory(const std::string& directory) {
    const int fd = ::open(directory.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) return Error{fmt::format("cannot open directory {}: {}", directory, std::strerror(errno))};
    const int rc = ::fsync(fd);
    const int saved = errno;
    ::close(fd);
    if (rc != 0) return Error{fmt::format("fsync {} failed: {}", directory, std::strerror(saved))};
    return success();
}

// Whether two files hold the same bytes.
bool same_content(const std::string& a, const std::string& b) {
    std::ifstream left(a, std::ios::binary), right(b, std::ios::binary);
    if (!left || !right) return false;
    std::istreambuf_iterator<char> l(left), r(right), end;
    for (; l != end && r != end; ++l, ++r)
        if (*l != *r) return false;
    return l == end && r == end;
}

// A hidden name beside `target` for this process: .NAME.snm-TAG.PID.
std::string sibling_name(const std::string& target, std::string_view tag) {
    const auto slash = target.rfind('/');
    return fmt::format("{}/.{}.snm-{}.{}", parent_directory(target), target.substr(slash + 1), tag, ::getpid());
}

// The name a target's previous version is kept under while commit() runs.
std::string previous_version(const std::string& target) { return sibling_name(target, "old"); }

}  // namespace

Result<std::unique_ptr<StagedFiles>> StagedFiles::preview() {
    char scratch[] = "/tmp/snm-preview-XXXXXX";
    if (!::mkdtemp(scratch)) return Error{fmt::format("cannot create a scratch directory: {}", std::strerror(errno))};
    auto staged = std::make_unique<StagedFiles>();
    staged->scratch_ = scratch;
    return staged;
}

StagedFiles::~StagedFiles() {
    if (!committed_)
        for (const auto& entry : entries_) ::unlink(entry.temporary.c_str());
    if (!scratch_.empty()) ::rmdir(scratch_.c_str());
}

std::string StagedFiles::temporary_for(const std::string& target) const {
    if (!scratch_.empty()) return fmt::format("{}/{}", scratch_, entries_.size());
    return sibling_name(target, "new");
}

Status StagedFiles::stage(const std::string& target, const FileOwnership& ownership,
                          const std::function<Status(int fd)>& write) {
    const std::string temporary = temporary_for(target);
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

Result<std::vector<StagedChange>> StagedFiles::changes() const {
    std::vector<StagedChange> result;
    for (const auto& entry : entries_) {
        struct stat staged {}, target {};
        if (::stat(entry.temporary.c_str(), &staged) != 0)
            return Error{fmt::format("{} vanished: {}", entry.temporary, std::strerror(errno))};
        if (::lstat(entry.target.c_str(), &target) != 0) {
            if (errno != ENOENT) return Error{fmt::format("cannot read {}: {}", entry.target, std::strerror(errno))};
            result.push_back({entry.target, entry.temporary, false, true});
            continue;
        }
        const bool content_changed = !S_ISREG(target.st_mode) || !same_content(entry.temporary, entry.target);
        const bool owner_changed = (staged.st_mode & 07777) != (target.st_mode & 07777) ||
                                   staged.st_uid != target.st_uid || staged.st_gid != target.st_gid;
        if (content_changed || owner_changed) result.push_back({entry.target, entry.temporary, true, content_changed});
    }
    return result;
}

Result<std::vector<std::string>> StagedFiles::commit() {
    if (is_preview()) return Error{"a preview cannot be committed"};
    auto changed = changes();
    if (!changed) return changed.error();
    // Every previous version is kept (a second name, no copy) until all
    // renames are done, so a failure half-way can put each one back.
    std::vector<std::string> kept, renamed;
    auto put_back = [&] {
        for (const auto& target : renamed) {
            const std::string previous = previous_version(target);
            if (std::find(kept.begin(), kept.end(), target) != kept.end()) ::rename(previous.c_str(), target.c_str());
            else ::unlink(target.c_str());
        }
        for (const auto& target : kept) ::unlink(previous_version(target).c_str());
    };
    for (const auto& change : *changed) {
        if (!change.target_exists) continue;
        const std::string previous = previous_version(change.target);
        ::unlink(previous.c_str());
        if (::link(change.target.c_str(), previous.c_str()) != 0) {
            const int saved = errno;
            put_back();
            return Error{fmt::format("cannot keep the previous {}: {}", change.target, std::strerror(saved))};
        }
        kept.push_back(change.target);
    }
    std::set<std::string> directories;
    for (const auto& change : *changed) {
        if (::rename(change.staged.c_str(), change.target.c_str()) != 0) {
            const int saved = errno;
            put_back();
            return Error{fmt::format("cannot move {} into place: {}", change.target, std::strerror(saved))};
        }
        renamed.push_back(change.target);
        directories.insert(parent_directory(change.target));
    }
    committed_ = true;
    for (const auto& entry : entries_) ::unlink(entry.temporary.c_str());  // the unchanged ones
    for (const auto& target : kept) ::unlink(previous_version(target).c_str());
    for (const auto& directory : directories)
        if (auto synced = fsync_directory(directory); !synced) return synced.error();
    return renamed;
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

std::string parent_directory(const std::string& path) {
    const auto slash = path.rfind('/');
    if (slash == std::string::npos) return ".";
    if (slash == 0) return "/";
    return path.substr(0, slash);
}

bool path_exists(const std::string& path) {
    struct stat st {};
    return ::lstat(path.c_str(), &st) == 0;
}

}  // namespace snm
