// Unit tests of maildir folder reading for snm-spam-learn.
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "maildir_folder.hpp"

namespace {

namespace fs = std::filesystem;
using snm::sieve::maildir_messages;
using snm::sieve::read_message_file;

class MaildirFolder : public ::testing::Test {
protected:
    void SetUp() override {
        char pattern[] = "/tmp/snm-maildir-test-XXXXXX";
        root_ = ::mkdtemp(pattern);
    }
    void TearDown() override { fs::remove_all(root_); }
    void write(const fs::path& path, const std::string& text) {
        fs::create_directories(path.parent_path());
        std::ofstream(path) << text;
    }
    fs::path root_;
};

TEST_F(MaildirFolder, ListsCurAndNewSortedSkippingTmpAndDotFiles) {
    write(root_ / "cur" / "2.host:2,S", "b");
    write(root_ / "cur" / "1.host:2,", "a");
    write(root_ / "new" / "3.host", "c");
    write(root_ / "cur" / ".hidden", "x");
    write(root_ / "tmp" / "4.host", "being written");
    fs::create_directories(root_ / "cur" / "subdir");
    auto messages = maildir_messages(root_);
    ASSERT_TRUE(messages.ok()) << messages.error().message;
    ASSERT_EQ(messages->size(), 3u);
    EXPECT_EQ((*messages)[0], root_ / "cur" / "1.host:2,");
    EXPECT_EQ((*messages)[1], root_ / "cur" / "2.host:2,S");
    EXPECT_EQ((*messages)[2], root_ / "new" / "3.host");
}

TEST_F(MaildirFolder, EmptyFolderHasNoMessages) {
    fs::create_directories(root_ / "new");
    auto messages = maildir_messages(root_);
    ASSERT_TRUE(messages.ok());
    EXPECT_TRUE(messages->empty());
}

TEST_F(MaildirFolder, ADirectoryWithoutCurOrNewIsNotAMaildir) {
    write(root_ / "message.eml", "x");
    auto messages = maildir_messages(root_);
    ASSERT_FALSE(messages.ok());
    EXPECT_NE(messages.error().message.find("not a maildir folder"), std::string::npos);
}

TEST_F(MaildirFolder, ReadsMessagesUpToTheLimit) {
    write(root_ / "m", "0123456789");
    EXPECT_EQ(read_message_file(root_ / "m", 10).value(), "0123456789");
    auto too_big = read_message_file(root_ / "m", 9);
    ASSERT_FALSE(too_big.ok());
    EXPECT_NE(too_big.error().message.find("larger than 9 bytes"), std::string::npos);
    EXPECT_FALSE(read_message_file(root_ / "missing", 10).ok());
}

}  // namespace
