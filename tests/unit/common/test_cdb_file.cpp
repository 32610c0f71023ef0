// test_cdb_file.cpp — CdbFile, mapped whole, with only its hash tables
// mapped, or reading everything with pread, finds every record CdbBuilder
// wrote and nothing else, visits each once, and refuses damaged files
// without reading out of bounds.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <string>

#include "cdb_file.hpp"

using snm::CdbFile;
using snm::Find;

namespace {

constexpr std::string_view kFormat = "snm-test 1";

// How much of the file a test maps.
enum class Mapping { Whole, Tables, None };

class CdbFileTest : public ::testing::TestWithParam<Mapping> {
protected:
    void SetUp() override {
        char pattern[] = "/tmp/snm-cdb-file-XXXXXX";
        ASSERT_TRUE(::mkdtemp(pattern));
        dir_ = pattern;
        path_ = dir_ + "/test.cdb";
    }
    void TearDown() override { std::filesystem::remove_all(dir_); }

    void write(const std::map<std::string, std::string>& records, bool with_format = true) {
        const int fd = ::open(path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
        ASSERT_GE(fd, 0);
        {
            snm::CdbBuilder builder(fd);
            if (with_format) {
                ASSERT_TRUE(builder.add(snm::kFormatKey, kFormat));
            }
            for (const auto& [key, value] : records) ASSERT_TRUE(builder.add(key, value));
            ASSERT_TRUE(builder.finish());
        }
        ::close(fd);
    }

    // Every mapping must answer alike. A limit just under the file's size
    // maps the tables only (the records of many_records() span many pages).
    std::uint64_t map_limit() const {
        switch (GetParam()) {
            case Mapping::Whole: return UINT64_MAX;
            case Mapping::Tables: {
                std::error_code no_file;
                const auto size = std::filesystem::file_size(path_, no_file);
                return no_file || size == 0 ? 0 : size - 1;
            }
            case Mapping::None: break;
        }
        return 0;
    }

    std::string dir_, path_;
};

std::map<std::string, std::string> many_records() {
    std::map<std::string, std::string> records;
    for (int i = 0; i < 5000; ++i) records["u:user" + std::to_string(i) + "@example.com"] = "v" + std::to_string(i * 7);
    records["big"] = std::string(100000, 'x');  // longer than the first read
    records["empty"] = "";
    return records;
}

}  // namespace

TEST_P(CdbFileTest, FindsEveryRecordAndNothingElse) {
    const auto records = many_records();
    write(records);
    auto reader = CdbFile::open(path_, kFormat, map_limit());
    ASSERT_TRUE(reader) << reader.error().message;
    const auto size = std::filesystem::file_size(path_);
    switch (GetParam()) {
        case Mapping::Whole: EXPECT_EQ((*reader)->mapped_bytes(), size); break;
        case Mapping::Tables:
            EXPECT_GT((*reader)->mapped_bytes(), 0u);
            EXPECT_LT((*reader)->mapped_bytes(), size / 2);
            break;
        case Mapping::None: EXPECT_EQ((*reader)->mapped_bytes(), 0u); break;
    }
    std::string value;
    for (const auto& [key, expected] : records) {
        ASSERT_EQ((*reader)->find(key, value), Find::Found) << key;
        EXPECT_EQ(value, expected);
    }
    for (const std::string& missing : {std::string(), std::string("u:"), std::string("u:user5000@example.com"),
                                      std::string("U:user1@example.com"), std::string("bi"),
                                      std::string(snm::kMaxLookupKey + 1, 'u')}) {
        EXPECT_EQ((*reader)->find(missing, value), Find::NotFound) << missing;
    }
    EXPECT_EQ((*reader)->find_folded("u:", "USER17@Example.COM", value), Find::Found);
    EXPECT_EQ(value, "v119");
}

TEST(CdbFileMapLimit, SmallFilesAreMappedByDefault) {
    EXPECT_EQ(snm::default_map_limit(), snm::kMaxMappedBytes);  // the test runs without an address-space limit
}

TEST_P(CdbFileTest, VisitsEveryRecordInFileOrder) {
    const auto records = many_records();
    write(records);
    auto reader = CdbFile::open(path_, kFormat, map_limit());
    ASSERT_TRUE(reader);
    std::map<std::string, int> seen;
    CdbFile::Position position;
    std::string key, value;
    while ((*reader)->next(position, key, value)) {
        ++seen[key];
        if (key != snm::kFormatKey) {
            EXPECT_EQ(value, records.at(key)) << key;
        }
    }
    EXPECT_FALSE(position.failed);
    EXPECT_EQ(seen.size(), records.size() + 1);  // and the format stamp
    for (const auto& [k, count] : seen) EXPECT_EQ(count, 1) << k;
}

TEST_P(CdbFileTest, RefusesAFileWithoutOrWithAnotherFormat) {
    write({{"a", "b"}}, false);
    auto unstamped = CdbFile::open(path_, kFormat, map_limit());
    ASSERT_FALSE(unstamped);
    EXPECT_NE(unstamped.error().message.find("no format stamp"), std::string::npos);
    write({});
    auto other = CdbFile::open(path_, "snm-other 2", map_limit());
    ASSERT_FALSE(other);
    EXPECT_NE(other.error().message.find("has format \"snm-test 1\""), std::string::npos);
}

TEST_P(CdbFileTest, AMissingFileSaysHowToCreateIt) {
    auto missing = CdbFile::open(dir_ + "/none.cdb", kFormat, map_limit());
    ASSERT_FALSE(missing);
    EXPECT_EQ(missing.error().message, "cannot open snapshot " + dir_ +
                                           "/none.cdb: No such file or directory (run `snmctl apply` to create it)");
}

TEST_P(CdbFileTest, TruncatedOrGarbledFilesAreRefusedOrFailLookupsSafely) {
    write(many_records());
    const auto full = std::filesystem::file_size(path_);
    std::string bytes(full, '\0');
    std::ifstream(path_, std::ios::binary).read(bytes.data(), bytes.size());
    // Truncated anywhere: refused at open (hash tables out of bounds).
    for (std::size_t size : {std::size_t(0), std::size_t(100), std::size_t(2048), full / 2, full - 1}) {
        std::ofstream(path_, std::ios::binary | std::ios::trunc).write(bytes.data(), size);
        auto reader = CdbFile::open(path_, kFormat, map_limit());
        ASSERT_FALSE(reader) << size;
        EXPECT_NE(reader.error().message.find("not a constant database"), std::string::npos);
    }
    // Records overwritten with garbage: lookups and iteration end, no wild reads.
    std::string garbled = bytes;
    for (std::size_t i = 2048 + 64; i < full / 2; i += 7) garbled[i] = static_cast<char>(0xff);
    std::ofstream(path_, std::ios::binary | std::ios::trunc).write(garbled.data(), garbled.size());
    auto reader = CdbFile::open(path_, kFormat, map_limit());
    if (reader) {
        std::string value;
        for (int i = 0; i < 5000; ++i) (void)(*reader)->find("u:user" + std::to_string(i) + "@example.com", value);
        CdbFile::Position position;
        std::string key;
        int steps = 0;
        while ((*reader)->next(position, key, value) && steps < 100000) ++steps;
        EXPECT_LT(steps, 100000);
    }
}

INSTANTIATE_TEST_SUITE_P(Mappings, CdbFileTest, ::testing::Values(Mapping::Whole, Mapping::Tables, Mapping::None),
                         [](const auto& info) {
                             return info.param == Mapping::Whole ? "Whole" : info.param == Mapping::Tables ? "Tables" : "None";
                         });
