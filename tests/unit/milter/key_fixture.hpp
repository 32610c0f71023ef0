// key_fixture.hpp — a private state directory with DKIM keys and a DKIM
// snapshot, made the way `snmctl apply` makes them, for the milter's unit tests.
#pragma once

#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <string>

#include <gtest/gtest.h>

#include "config.hpp"
#include "dkim_keys.hpp"
#include "snapshot_compiler.hpp"
#include "staged_files.hpp"

namespace snm::milter::testing {

class KeyDirectory {
public:
    KeyDirectory() {
        char pattern[] = "/tmp/snm-milter-test.XXXXXX";
        dir_ = ::mkdtemp(pattern);
        config.fqdn = "mail.example.com";
        config.domains = {"example.com", "example.net"};
        config.stateDirectory = dir_ + "/state";
        config.dkimKeyDirectory = dir_ + "/state/dkim";
        DkimDomain example{"example.com", {}};
        example.selectors.push_back(selector("rsa", DkimAlgorithm::Rsa, 1024, "example.com"));
        example.selectors.push_back(selector("ed", DkimAlgorithm::Ed25519, 0, "example.com"));
        config.dkimDomains.push_back(example);
        config.dkimInternalNetworks = {"10.0.0.0/8"};
    }
    ~KeyDirectory() { std::filesystem::remove_all(dir_); }

    DkimSelector selector(const std::string& name, DkimAlgorithm algorithm, unsigned bits, const std::string& domain) {
        DkimSelector s;
        s.name = name;
        s.algorithm = algorithm;
        s.keyBits = bits;
        s.keyFile = config.dkimKeyDirectory + "/" + domain + "." + name + ".key";
        return s;
    }

    // Generates the missing keys and writes the snapshot.
    void apply() {
        StagedFiles staged;
        auto keys = stage_missing_dkim_keys(config, staged);
        ASSERT_TRUE(keys) << keys.error().message;
        auto snapshots = stage_snapshots(config, SnapshotOwners{}, staged);
        ASSERT_TRUE(snapshots) << snapshots.error().message;
        auto committed = staged.commit();
        ASSERT_TRUE(committed) << committed.error().message;
    }

    std::string snapshot() const { return config.stateDirectory + "/dkim.cdb"; }
    std::string key(const std::string& domain, const std::string& selector) const {
        return config.dkimKeyDirectory + "/" + domain + "." + selector + ".key";
    }
    const std::string& dir() const { return dir_; }

    Config config;

private:
    std::string dir_;
};

}  // namespace snm::milter::testing
