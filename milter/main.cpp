// main.cpp — snm-dkim-milter: signs outgoing mail with DKIM for Postfix.
//
//   snm-dkim-milter --state DIR --socket unix:PATH|inet:HOST:PORT|inet:PORT@HOST
//                   [--user USER] [--pid-file PATH] [-f]
//
// Reads DIR/dkim.cdb (written by `snmctl apply`) and the keys it names.
// Started as root, it binds the socket (a unix socket is given to the
// postfix group, mode 0660) and then runs as USER (default snm-dkim; root,
// with a warning, when that user does not exist) before reading any key.
// -f stays in the foreground and logs to stderr; otherwise it detaches and
// logs to syslog (facility mail).
#include <grp.h>
#include <pwd.h>
#include <unistd.h>

#include <cstdio>
#include <fmt/format.h>
#include <optional>
#include <string>

#include "daemon.hpp"
#include "dkim_keys.hpp"
#include "key_set.hpp"
#include "log.hpp"
#include "server.hpp"
#include "snapshot_layout.hpp"
#include "socket_spec.hpp"

namespace {

constexpr const char* kProgram = "snm-dkim-milter";
constexpr const char* kUsage =
    "usage: snm-dkim-milter --state DIR --socket SPEC [--user USER] [--pid-file PATH] [-f]\n"
    "  SPEC: unix:PATH | inet:HOST:PORT | inet:PORT@HOST\n";
// Group of the MTA that connects to a unix socket.
constexpr const char* kMtaGroup = "postfix";

struct Options {
    std::string state;
    std::string socket;
    std::string user;
    std::string pid_file;
    bool foreground = false;
};

std::optional<Options> parse(int argc, char** argv) {
    Options options;
    for (int i = 1; i < argc; ++i) {
        const std::string arg = argv[i];
        const auto value = [&]() -> std::optional<std::string> {
            if (i + 1 >= argc) return std::nullopt;
            return std::string(argv[++i]);
        };
        std::optional<std::string> v;
        if (arg == "-f" || arg == "--foreground") options.foreground = true;
        else if ((arg == "--state" || arg == "-s") && (v = value())) options.state = *v;
        else if ((arg == "--socket" || arg == "-p") && (v = value())) options.socket = *v;
        else if ((arg == "--user" || arg == "-u") && (v = value())) options.user = *v;
        else if (arg == "--pid-file" && (v = value())) options.pid_file = *v;
        else {
            fmt::print(stderr, "{}: unknown or incomplete option `{}`\n{}", kProgram, arg, kUsage);
            return std::nullopt;
        }
    }
    if (options.state.empty() || options.socket.empty()) {
        fmt::print(stderr, "{}: --state and --socket are required\n{}", kProgram, kUsage);
        return std::nullopt;
    }
    return options;
}

}  // namespace

int main(int argc, char** argv) {
    for (int i = 1; i < argc; ++i) {
        if (std::string_view(argv[i]) == "--help" || std::string_view(argv[i]) == "-h") {
            fmt::print("{}", kUsage);
            return 0;
        }
        if (std::string_view(argv[i]) == "--version") {
            fmt::print("{} {}\n", kProgram, SNM_VERSION);
            return 0;
        }
    }
    auto options = parse(argc, argv);
    if (!options) return 2;
    snm::log_open(kProgram, options->foreground ? snm::LogTarget::Stderr : snm::LogTarget::Syslog);

    auto spec = snm::parse_socket_spec(options->socket);
    if (!spec) {
        snm::log_error("--socket {}: {}", options->socket, spec.error().message);
        return 2;
    }
    auto listener = snm::listen_on(*spec, {0660, 128, false});
    if (!listener) {
        snm::log_error("{}", listener.error().message);
        return 1;
    }
    const bool root = ::geteuid() == 0;
    if (root && spec->family == snm::SocketSpec::Family::Unix)
        if (const group* mta = ::getgrnam(kMtaGroup)) {
            if (::chown(spec->path.c_str(), static_cast<uid_t>(-1), mta->gr_gid) != 0)
                snm::log_warning("cannot give {} to group {}; Postfix may not be able to connect", spec->path, kMtaGroup);
        }
    std::string user = options->user;
    if (root && user.empty()) {
        user = snm::kDkimMilterUser;
        if (!::getpwnam(user.c_str())) {
            snm::log_warning("running as root: the user {} does not exist; create it (`adduser --system {}`) and run "
                             "`snmctl apply` to give it the keys, or name another with --user",
                             user, user);
            user = "root";
        }
    }
    if (auto dropped = snm::drop_privileges(user); !dropped) {
        snm::log_error("{}", dropped.error().message);
        return 1;
    }
    if (!options->foreground)
        if (auto detached = snm::detach(); !detached) {
            snm::log_error("{}", detached.error().message);
            return 1;
        }
    snm::raise_descriptor_limit();
    auto signals = snm::signal_events();
    if (!signals) {
        snm::log_error("{}", signals.error().message);
        return 1;
    }
    if (!options->pid_file.empty())
        if (auto written = snm::write_pid_file(options->pid_file); !written) {
            snm::log_error("{}", written.error().message);
            return 1;
        }

    auto keys = std::make_shared<snm::milter::KeyStore>(fmt::format("{}/{}", options->state, snm::layout::kDkimFile));
    if (!keys->current())
        snm::log_warning("no usable DKIM snapshot yet ({}); mail is answered with a temporary failure until one appears (run `snmctl apply`)",
                         keys->problem());
    snm::log_info("listening on {}", spec->text);
    return snm::milter::serve(*listener, *signals, keys);
}
