// snapshot_fixture.hpp — test helper: a temporary state directory and a
// function compiling TOML text into it, as `snmctl apply` does; a helper
// writing account tables.
#pragma once

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <string>

#include "config_loader.hpp"
#include "snapshot_compiler.hpp"
#include "staged_files.hpp"

namespace snm::testing {

inline const std::string kHash =
    "$6$/z4n8AQl6K$kiOkBTWlZfBd7PvF5GsJ8PmPgdZsFGN1jPGZufxxr60PoR0oUsrvzm2oQiflyz5ir9fFJ.d/zKm/NgLXNUsNX/";

// A [loginAccounts."address"] table with the test hash and `extra` lines.
inline std::string account_toml(const std::string& address, const std::string& extra = "") {
    return "[loginAccounts.\"" + address + "\"]\nhashedPassword = \"" + kHash + "\"\n" + extra;
}

class StateDirectory : public ::testing::Test {
protected:
    void SetUp() override {
        char pattern[] = "/tmp/snm-unit-XXXXXX";
        ASSERT_TRUE(::mkdtemp(pattern));
        root_ = pattern;
    }
    void TearDown() override { std::filesystem::remove_all(root_); }

    // Compiles `toml` (stateDirectory is set to <root>/state) and commits.
    Status apply(const std::string& toml) {
        const std::string text = "stateDirectory = \"" + state() + "\"\n" + toml;
        auto loaded = load_config_text(text, "snm.toml");
        if (!loaded.config) {
            std::string all;
            for (auto& d : loaded.diagnostics) all += d.format() + "\n";
            return Error{all};
        }
        StagedFiles staged;
        if (auto s = stage_snapshots(*loaded.config, SnapshotOwners{}, staged); !s) return s;
        if (auto committed = staged.commit(); !committed) return committed.error();
        return success();
    }

    std::string state() const { return root_ + "/state"; }
    std::string path(const std::string& name) const { return state() + "/" + name; }

    std::string root_;
};

}  // namespace snm::testing
