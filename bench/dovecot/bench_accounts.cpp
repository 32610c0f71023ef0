// bench_accounts.cpp — writes the same N accounts twice, as an snm accounts
// snapshot (CDB, the records `snmctl apply` writes) and as a Dovecot
// passwd-file, for bench/dovecot/run.
//
//   dovecot_bench_accounts N STORED_PASSWORD GENERATION OUTDIR
//
// Accounts are user<i>@bench.example, i in [0, N), all with STORED_PASSWORD
// ("{PLAIN}secret", "{SHA512-CRYPT}$6$…": one hash for all, computing a
// million crypt hashes would only slow the set-up). GENERATION goes into
// user0's home, so a reader can tell which file answered. The files are
// written in place: the harness renames them over the served ones.
#include <fcntl.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <string>

#include <fmt/format.h>

#include "cdb_file.hpp"
#include "snapshot_layout.hpp"

namespace {

constexpr unsigned kVmailUid = 5000;

std::string home_of(unsigned long i, const std::string& generation) {
    return i == 0 ? fmt::format("/var/vmail/bench.example/user0-{}", generation)
                  : fmt::format("/var/vmail/bench.example/user{}", i);
}

int fail(const std::string& message) {
    fmt::print(stderr, "dovecot_bench_accounts: {}\n", message);
    return 1;
}

}  // namespace

int main(int argc, char** argv) {
    if (argc != 5) return fail("usage: dovecot_bench_accounts N STORED_PASSWORD GENERATION OUTDIR");
    const unsigned long count = std::strtoul(argv[1], nullptr, 10);
    const std::string password = argv[2], generation = argv[3], outdir = argv[4];

    const std::string cdb_path = outdir + "/accounts.cdb", passwd_path = outdir + "/passwd";
    const int fd = ::open(cdb_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0) return fail("cannot create " + cdb_path);
    std::FILE* passwd = std::fopen(passwd_path.c_str(), "w");
    if (!passwd) return fail("cannot create " + passwd_path);
    {
        snm::CdbBuilder cdb(fd);
        if (!cdb.add(snm::kFormatKey, snm::layout::kAccountsFormat)) return fail("cdb write failed");
        for (unsigned long i = 0; i < count; ++i) {
            const auto user = fmt::format("user{}@bench.example", i);
            const auto home = home_of(i, generation);
            const auto fields = fmt::format("home={}\tmail=maildir:{}\tuid={}\tgid={}\tquota_rule=*:storage=2G", home,
                                            home, kVmailUid, kVmailUid);
            if (!cdb.add(fmt::format("{}{}", snm::layout::kPassword, user), password) ||
                !cdb.add(fmt::format("{}{}", snm::layout::kUserdb, user), fields))
                return fail("cdb write failed");
            fmt::print(passwd, "{}:{}:{}:{}::{}::userdb_mail=maildir:{} userdb_quota_rule=*:storage=2G\n", user,
                       password, kVmailUid, kVmailUid, home, home);
        }
        if (!cdb.finish()) return fail("cdb finish failed");
    }
    if (::fsync(fd) != 0 || ::close(fd) != 0 || std::fflush(passwd) != 0 || ::fsync(fileno(passwd)) != 0 ||
        std::fclose(passwd) != 0)
        return fail("write failed");
    return 0;
}
