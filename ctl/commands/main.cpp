// main.cpp — snmctl: validates snm.toml, compiles it into snapshots, makes
// keys and certificates, renders stock configuration, runs the sandbox.
// Dispatches to one subcommand per file.
#include <fmt/format.h>

#include <functional>
#include <string>
#include <vector>

#include "commands.hpp"
#include "option_parser.hpp"

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
        {"sandbox", "sandbox up|down|apply -c FILE --dir DIR [--port-base N]   a private mail server on 127.0.0.1", snm::ctl::run_sandbox},
        {"dkim", "dkim keygen|list|dns -c FILE   DKIM keys per domain and selector; dns prints their TXT records\n"
                 "  dkim rotate -c FILE --domain D  new keys under new selectors, and the steps to switch to them",
         snm::ctl::run_dkim},
        {"dns", "dns -c FILE [--ipv4 A]        every DNS record to publish, as a zone-file snippet", snm::ctl::run_dns},
        {"cert", "cert renew|status -c FILE [--root DIR | --sandbox DIR] [--force]   the TLS certificate: renew "
                 "when due (ACME through lego), show it",
         snm::ctl::run_cert},
    };
    return table;
}

// snmctl's own usage: every command's synopsis.
std::string usage() {
    std::string text = "usage: snmctl COMMAND [OPTIONS]\n       snmctl --help | --version\n\ncommands:\n";
    for (const auto& command : subcommands()) text += fmt::format("  {}\n", command.summary);
    return text + "\n`snmctl COMMAND --help` shows one command's usage.\n";
}

}  // namespace

int main(int argc, char** argv) {
    const snm::ctl::Arguments args(argv + 1, argv + argc);
    // What comes before the command is snmctl's own: --help or --version.
    snm::OptionParser options({.name = "snmctl", .usage = usage()});
    if (args.empty()) return options.usage_error("missing command");
    const std::string& name = args.front();
    if (name == "help") return *options.parse({"--help"});
    if (name.starts_with('-'))
        if (auto status = options.parse({name})) return *status;
    const snm::ctl::Arguments rest(args.begin() + 1, args.end());
    for (const auto& command : subcommands())
        if (name == command.name) return command.run(rest);
    return options.usage_error(fmt::format("unknown command `{}`", name));
}
