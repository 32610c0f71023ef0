// test_staged_files.cpp — StagedFiles replaces a set of files all or
// nothing: changed targets are replaced by new files (a reader of the old one
// keeps it), missing ones are created with their mode, unchanged ones are
// left alone (same inode, same mtime, not reported), a mode-only change is
// told apart from a content change, an abandoned staging leaves nothing
// behind, a commit failing half-way puts back what it had already renamed,
// and a preview reports the same changes without touching the targets'
// directory. Each test works in a fresh temporary directory.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <linux/fs.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <set>
#include <string>
#include <vector>

#include "staged_files.hpp"

using snm::FileOwnership;
using snm::StagedChange;
using snm::StagedFiles;

namespace {

namespace fs = std::filesystem;

// A time no test runs at: a target rewritten by a commit gets a newer mtime.
constexpr time_t kLongAgo = 1000000000;  // 2001-09-09

FileOwnership mode(mode_t bits) { return FileOwnership{bits, {}, {}}; }

struct stat stat_of(const std::string& path) {
    struct stat st {};
    EXPECT_EQ(::lstat(path.c_str(), &st), 0) << path << ": " << std::strerror(errno);
    return st;
}

mode_t mode_of(const std::string& path) { return stat_of(path).st_mode & 07777; }

std::string content_of(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

void write_file(const std::string& path, const std::string& content, mode_t bits = 0644) {
    {
        std::ofstream out(path, std::ios::binary | std::ios::trunc);
        out << content;
        ASSERT_TRUE(out) << "cannot write " << path;
    }
    ASSERT_EQ(::chmod(path.c_str(), bits), 0) << path;
}

// Gives `path` an mtime of long ago, so that writing it again shows.
void age(const std::string& path) {
    const struct timespec times[2] = {{kLongAgo, 0}, {kLongAgo, 0}};
    ASSERT_EQ(::utimensat(AT_FDCWD, path.c_str(), times, AT_SYMLINK_NOFOLLOW), 0) << path;
}

// The names in `directory`, hidden ones included.
std::set<std::string> names_in(const std::string& directory) {
    std::set<std::string> names;
    for (const auto& entry : fs::directory_iterator(directory)) names.insert(entry.path().filename().string());
    return names;
}

std::vector<std::string> targets_of(const std::vector<StagedChange>& changes) {
    std::vector<std::string> targets;
    for (const auto& change : changes) targets.push_back(change.target);
    return targets;
}

// Sets or clears a directory's immutable attribute (chattr +i): nothing can
// be created, renamed or removed in it, not even by root. False where the
// file system or the process's capabilities do not allow it.
bool set_immutable(const std::string& directory, bool on) {
    const int fd = ::open(directory.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) return false;
    int flags = 0;
    bool done = ::ioctl(fd, FS_IOC_GETFLAGS, &flags) == 0;
    if (done) {
        flags = on ? flags | FS_IMMUTABLE_FL : flags & ~FS_IMMUTABLE_FL;
        done = ::ioctl(fd, FS_IOC_SETFLAGS, &flags) == 0;
    }
    ::close(fd);
    return done;
}

class StagedFilesTest : public ::testing::Test {
protected:
    void SetUp() override {
        char pattern[] = "/tmp/snm-staged-files-XXXXXX";
        ASSERT_TRUE(::mkdtemp(pattern));
        dir_ = pattern;
    }
    void TearDown() override {
        for (const auto& directory : immutable_) set_immutable(directory, false);
        std::error_code ignored;
        fs::remove_all(dir_, ignored);
    }
    std::string path(const std::string& name) const { return dir_ + "/" + name; }

    std::string dir_;
    std::vector<std::string> immutable_;  // cleared again in TearDown
};

TEST_F(StagedFilesTest, CommitReplacesChangedTargetsAndCreatesMissingOnesWithTheirMode) {
    write_file(path("changed"), "old\n", 0644);
    const ino_t old_inode = stat_of(path("changed")).st_ino;
    const int reader = ::open(path("changed").c_str(), O_RDONLY);  // a reader holding the old file
    ASSERT_GE(reader, 0);

    StagedFiles staged;
    ASSERT_TRUE(staged.stage_content(path("changed"), mode(0644), "new\n"));
    ASSERT_TRUE(staged.stage_content(path("created"), mode(0640), "created\n"));
    EXPECT_EQ(names_in(dir_).size(), 3u) << "staging writes one temporary file per target, beside it";
    EXPECT_EQ(content_of(path("changed")), "old\n");
    EXPECT_FALSE(snm::path_exists(path("created")));

    auto committed = staged.commit();
    ASSERT_TRUE(committed) << committed.error().message;
    EXPECT_EQ(*committed, (std::vector<std::string>{path("changed"), path("created")}));
    EXPECT_EQ(content_of(path("changed")), "new\n");
    EXPECT_NE(stat_of(path("changed")).st_ino, old_inode) << "the target was rewritten in place, not replaced";
    char held[16] = {};
    EXPECT_EQ(::pread(reader, held, sizeof held, 0), 4);
    EXPECT_STREQ(held, "old\n") << "a reader of the old file must keep it";
    ::close(reader);
    EXPECT_EQ(content_of(path("created")), "created\n");
    EXPECT_EQ(mode_of(path("created")), 0640u);
    EXPECT_EQ(names_in(dir_), (std::set<std::string>{"changed", "created"})) << "temporary names left behind";
}

TEST_F(StagedFilesTest, UnchangedFileKeepsItsInodeAndMtimeAndIsNotReported) {
    write_file(path("same"), "same\n", 0640);
    age(path("same"));
    const struct stat before = stat_of(path("same"));

    StagedFiles staged;
    ASSERT_TRUE(staged.stage_content(path("same"), mode(0640), "same\n"));
    ASSERT_TRUE(staged.stage_content(path("other"), mode(0644), "other\n"));
    auto changes = staged.changes();
    ASSERT_TRUE(changes) << changes.error().message;
    EXPECT_EQ(targets_of(*changes), std::vector<std::string>{path("other")});

    auto committed = staged.commit();
    ASSERT_TRUE(committed) << committed.error().message;
    EXPECT_EQ(*committed, std::vector<std::string>{path("other")});
    const struct stat after = stat_of(path("same"));
    EXPECT_EQ(after.st_ino, before.st_ino) << "an unchanged file was replaced";
    EXPECT_EQ(after.st_mtim.tv_sec, before.st_mtim.tv_sec) << "an unchanged file was written again";
    EXPECT_EQ(after.st_mtim.tv_nsec, before.st_mtim.tv_nsec);
    EXPECT_EQ(names_in(dir_), (std::set<std::string>{"same", "other"})) << "temporary names left behind";
}

TEST_F(StagedFilesTest, NothingChangedCommitsNothing) {
    write_file(path("same"), "same\n", 0644);
    age(path("same"));
    age(dir_);
    const struct stat before = stat_of(path("same"));

    StagedFiles staged;
    ASSERT_TRUE(staged.stage_content(path("same"), mode(0644), "same\n"));
    auto committed = staged.commit();
    ASSERT_TRUE(committed) << committed.error().message;
    EXPECT_TRUE(committed->empty());
    EXPECT_EQ(stat_of(path("same")).st_ino, before.st_ino);
    EXPECT_EQ(stat_of(path("same")).st_mtim.tv_sec, kLongAgo);
    EXPECT_EQ(names_in(dir_), std::set<std::string>{"same"});
}

TEST_F(StagedFilesTest, ModeOnlyChangeIsReportedWithoutAContentChangeAndApplied) {
    write_file(path("secret"), "key\n", 0644);

    StagedFiles staged;
    ASSERT_TRUE(staged.stage_content(path("secret"), mode(0600), "key\n"));
    auto changes = staged.changes();
    ASSERT_TRUE(changes) << changes.error().message;
    ASSERT_EQ(changes->size(), 1u);
    EXPECT_EQ((*changes)[0].target, path("secret"));
    EXPECT_TRUE((*changes)[0].target_exists);
    EXPECT_FALSE((*changes)[0].content_changed) << "only the mode differs";

    auto committed = staged.commit();
    ASSERT_TRUE(committed) << committed.error().message;
    EXPECT_EQ(*committed, std::vector<std::string>{path("secret")});
    EXPECT_EQ(mode_of(path("secret")), 0600u);
    EXPECT_EQ(content_of(path("secret")), "key\n");
    EXPECT_EQ(names_in(dir_), std::set<std::string>{"secret"});
}

TEST_F(StagedFilesTest, DestroyedWithoutCommitLeavesNoTemporaryAndNoChangedTarget) {
    write_file(path("kept"), "old\n", 0644);
    age(path("kept"));
    const struct stat before = stat_of(path("kept"));
    {
        StagedFiles staged;
        ASSERT_TRUE(staged.stage_content(path("kept"), mode(0600), "new\n"));
        ASSERT_TRUE(staged.stage_content(path("never"), mode(0644), "never\n"));
        ASSERT_GT(names_in(dir_).size(), 1u) << "staging wrote no temporary file: the test proves nothing";
    }
    EXPECT_EQ(names_in(dir_), std::set<std::string>{"kept"}) << "temporary files left behind";
    const struct stat after = stat_of(path("kept"));
    EXPECT_EQ(after.st_ino, before.st_ino);
    EXPECT_EQ(after.st_mtim.tv_sec, kLongAgo);
    EXPECT_EQ(after.st_mode & 07777, 0644u);
    EXPECT_EQ(content_of(path("kept")), "old\n");
}

// A later target that is a directory with files in it cannot be replaced
// by a file: the commit fails, naming it, and the earlier targets are as
// they were.
TEST_F(StagedFilesTest, CommitFailingOnALaterTargetPutsEveryEarlierTargetBack) {
    write_file(path("first"), "first, as it was\n", 0640);
    const struct stat first_before = stat_of(path("first"));
    ASSERT_TRUE(fs::create_directory(path("blocked")));
    write_file(path("blocked/inside"), "not to be lost\n");
    {
        StagedFiles staged;
        ASSERT_TRUE(staged.stage_content(path("first"), mode(0644), "first, new\n"));
        ASSERT_TRUE(staged.stage_content(path("second"), mode(0644), "second, new\n"));
        ASSERT_TRUE(staged.stage_content(path("blocked"), mode(0644), "a file where a directory is\n"));
        auto committed = staged.commit();
        ASSERT_FALSE(committed) << "a non-empty directory was replaced by a file";
        EXPECT_NE(committed.error().message.find(path("blocked")), std::string::npos)
            << "the error does not name the file: " << committed.error().message;
        for (const auto& name : names_in(dir_))
            EXPECT_EQ(name.find(".snm-old"), std::string::npos) << "previous version left behind: " << name;
    }
    EXPECT_EQ(content_of(path("first")), "first, as it was\n");
    EXPECT_EQ(stat_of(path("first")).st_ino, first_before.st_ino);
    EXPECT_EQ(mode_of(path("first")), 0640u);
    EXPECT_FALSE(snm::path_exists(path("second"))) << "a target that did not exist before exists after";
    EXPECT_EQ(content_of(path("blocked/inside")), "not to be lost\n");
    EXPECT_EQ(names_in(dir_), (std::set<std::string>{"first", "blocked"})) << "temporary names left behind";
}

// The same with the failure in the rename itself, after earlier renames
// were done: the last target is new (nothing to keep aside) and its
// directory is made immutable once everything is staged, so its rename
// alone is refused; `first` and `second`, in another directory, were
// already renamed into place by then and must be put back.
TEST_F(StagedFilesTest, RenameRefusedHalfWayIsUndone) {
    ASSERT_TRUE(fs::create_directory(path("one")));
    ASSERT_TRUE(fs::create_directory(path("two")));
    write_file(path("one/first"), "first, as it was\n", 0640);
    const struct stat first_before = stat_of(path("one/first"));
    {
        StagedFiles staged;
        ASSERT_TRUE(staged.stage_content(path("one/first"), mode(0644), "first, new\n"));
        ASSERT_TRUE(staged.stage_content(path("one/second"), mode(0644), "second, new\n"));
        ASSERT_TRUE(staged.stage_content(path("two/third"), mode(0644), "third, new\n"));
        if (!set_immutable(path("two"), true))
            GTEST_SKIP() << "cannot make a directory immutable here: " << std::strerror(errno);
        immutable_.push_back(path("two"));
        auto committed = staged.commit();
        ASSERT_TRUE(set_immutable(path("two"), false));
        ASSERT_FALSE(committed) << "a rename into an immutable directory succeeded";
        EXPECT_NE(committed.error().message.find(path("two/third")), std::string::npos)
            << "the error does not name the file: " << committed.error().message;
        EXPECT_EQ(content_of(path("one/first")), "first, as it was\n");
        EXPECT_EQ(stat_of(path("one/first")).st_ino, first_before.st_ino) << "the previous file itself is not back";
        EXPECT_FALSE(snm::path_exists(path("one/second"))) << "a target that did not exist before exists after";
        for (const auto& name : names_in(path("one")))
            EXPECT_EQ(name.find(".snm-old"), std::string::npos) << "previous version left behind: " << name;
    }
    EXPECT_EQ(content_of(path("one/first")), "first, as it was\n");
    EXPECT_EQ(mode_of(path("one/first")), 0640u);
    EXPECT_EQ(names_in(path("one")), std::set<std::string>{"first"}) << "temporary names left behind";
    EXPECT_TRUE(names_in(path("two")).empty()) << "temporary names left behind";
}

TEST_F(StagedFilesTest, PreviewReportsTheSameChangesAndNeverTouchesTheTargetsDirectory) {
    write_file(path("changed"), "old\n", 0644);
    write_file(path("same"), "same\n", 0644);
    write_file(path("mode"), "mode\n", 0644);
    for (const auto& name : names_in(dir_)) age(path(name));
    age(dir_);
    const auto stage_all = [&](StagedFiles& staged) {
        ASSERT_TRUE(staged.stage_content(path("changed"), mode(0644), "new\n"));
        ASSERT_TRUE(staged.stage_content(path("same"), mode(0644), "same\n"));
        ASSERT_TRUE(staged.stage_content(path("mode"), mode(0600), "mode\n"));
        ASSERT_TRUE(staged.stage_content(path("created"), mode(0644), "created\n"));
        ASSERT_TRUE(staged.stage_content(path("missing/deeper"), mode(0644), "in a directory not there\n"));
    };
    std::vector<StagedChange> previewed;
    std::set<std::string> scratch;
    {
        auto preview = StagedFiles::preview();
        ASSERT_TRUE(preview) << preview.error().message;
        EXPECT_TRUE((*preview)->is_preview());
        stage_all(**preview);
        auto changes = (*preview)->changes();
        ASSERT_TRUE(changes) << changes.error().message;
        previewed = *changes;
        for (const auto& change : previewed) {
            EXPECT_FALSE(change.staged.starts_with(dir_ + "/")) << "a preview staged beside its target: " << change.staged;
            scratch.insert(snm::parent_directory(change.staged));
        }
        EXPECT_FALSE((*preview)->commit()) << "a preview was committed";
    }
    EXPECT_EQ(names_in(dir_), (std::set<std::string>{"changed", "same", "mode"}));
    EXPECT_EQ(stat_of(dir_).st_mtim.tv_sec, kLongAgo) << "the preview created or removed a name in the targets' directory";
    for (const auto& name : names_in(dir_)) EXPECT_EQ(stat_of(path(name)).st_mtim.tv_sec, kLongAgo) << name;
    EXPECT_EQ(content_of(path("changed")), "old\n");
    EXPECT_EQ(mode_of(path("mode")), 0644u);
    for (const auto& directory : scratch) EXPECT_FALSE(snm::path_exists(directory)) << "scratch directory left behind: " << directory;

    // The real staging needs the directory it stages beside; it is empty,
    // so `missing/deeper` is still a file that does not exist.
    ASSERT_TRUE(fs::create_directory(path("missing")));
    StagedFiles staged;
    stage_all(staged);
    auto changes = staged.changes();
    ASSERT_TRUE(changes) << changes.error().message;
    ASSERT_EQ(previewed.size(), changes->size());
    for (std::size_t i = 0; i < previewed.size(); ++i) {
        EXPECT_EQ(previewed[i].target, (*changes)[i].target);
        EXPECT_EQ(previewed[i].target_exists, (*changes)[i].target_exists) << previewed[i].target;
        EXPECT_EQ(previewed[i].content_changed, (*changes)[i].content_changed) << previewed[i].target;
    }
    EXPECT_EQ(targets_of(previewed),
              (std::vector<std::string>{path("changed"), path("mode"), path("created"), path("missing/deeper")}));
}

}  // namespace
