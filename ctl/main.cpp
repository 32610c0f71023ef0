// main.cpp — snmctl: validates snm.toml, compiles it into snapshots, makes
// keys and certificates, renders stock configuration, runs the sandbox.
// Dispatches to one subcommand per file.
#include <fmt/format.h>

#include <cstdio>
#include <cstring>
#include <functional>
#include <string>
#include <vector>

#include "commands.hpp"

namespace {

struct Subcommand {
    const char* name;
    const char* summary;
    std::function<int(const snm::ctl::Arguments&)> run;
};

const std::vector<Subcommand>& subcommands() {
    static const std::vector<Subcommand> table = {
        {"check", "check -c FILE                 validate snm.toml; every error with file:line:col", snm::ctl::run_check},
        {"apply", "apply -c FILE [--root DIR]    compile snapshots and install them, all or nothing", snm::ctl::run_apply},
        {"passwd", "passwd [--scheme S]           hash a password from stdin (sha512-crypt|bcrypt|argon2id)",
         snm::ctl::run_passwd},
        {"sandbox", "sandbox up|down -c FILE --dir DIR --port-base N   a private mail server on 127.0.0.1", snm::ctl::run_sandbox},
        {"dkim", "dkim keygen|list|dns -c FILE   DKIM keys per domain and selector; dns prints their TXT records\n"
                 "  dkim rotate -c FILE --domain D  new keys under new selectors, and the steps to switch to them",
         snm::ctl::run_dkim},
        {"dns", "dns -c FILE [--ipv4 A]        every DNS record to publish, as a zone-file snippet", snm::ctl::run_dns},
    };
    return table;
}

void usage(std::FILE* to) {
    fmt::print(to, "usage: snmctl COMMAND [OPTIONS]\n\ncommands:\n");
    for (const auto& command : subcommands()) fmt::print(to, "  {}\n", command.summary);
    fmt::print(to, "\nsnmctl --version prints the version.\n");
}

}  // namespace

int main(int argc, char** argv) {
    if (argc < 2) {
        usage(stderr);
        return snm::ctl::kExitUsage;
    }
    const std::string name = argv[1];
    if (name == "--help" || name == "-h" || name == "help") {
        usage(stdout);
        return snm::ctl::kExitOk;
    }
    if (name == "--version") {
        fmt::print("snmctl {}\n", SNM_VERSION);
        return snm::ctl::kExitOk;
    }
    const snm::ctl::Arguments args(argv + 2, argv + argc);
    for (const auto& command : subcommands())
        if (name == command.name) return command.run(args);
    fmt::print(stderr, "snmctl: unknown command `{}`\n\n", name);
    usage(stderr);
    return snm::ctl::kExitUsage;
}
