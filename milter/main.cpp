// main.cpp — snm-dkim-milter: signs outgoing mail with DKIM for Postfix.
//
//   snm-dkim-milter --state DIR --socket unix:PATH|inet:HOST:PORT|inet:PORT@HOST
//                   [--user USER] [--pid-file PATH] [-f]
//   snm-dkim-milter --help | --version
//
// Reads DIR/dkim.cdb (written by `snmctl apply`) and the keys it names.
// Started as root, it binds the socket (a unix socket is given to the
// postfix group, mode 0660) and then runs as USER (default snm-dkim; root,
// with a warning, when that user does not exist) before reading any key.
// -f stays in the foreground and logs to stderr; otherwise it detaches and
// logs to syslog (facility mail).
#include <pwd.h>
#include <unistd.h>

#include <fmt/format.h>

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "daemon.hpp"
#include "dkim_keys.hpp"
#include "key_set.hpp"
#include "log.hpp"
#include "option_parser.hpp"
#include "server.hpp"
#include "snapshot_layout.hpp"
#include "socket_spec.hpp"

namespace {

constexpr const char* kProgram = "snm-dkim-milter";
constexpr const char* kUsage =
    "usage: snm-dkim-milter --state DIR --socket SPEC [--user USER] [--pid-file PATH] [-f]\n"
    "\n"
    "Signs outgoing mail with DKIM for Postfix, with the keys DIR/dkim.cdb names.\n"
    "\n"
    "  -s, --state DIR           snm's state directory (holds dkim.cdb)\n"
    "  -p, --socket SPEC         where to listen: unix:PATH, inet:HOST:PORT or inet:PORT@HOST\n"
    "  -u, --user USER           run as USER after binding (default snm-dkim when root)\n"
    "  --pid-file PATH           write the process id to PATH\n"
    "  -f, --foreground          stay in the foreground, log to stderr\n"
    "  -h, --help                this text\n"
    "  -V, --version             the version\n"
    "\n"
    "SIGHUP re-reads the snapshot and the keys; SIGTERM finishes the messages in\n"
    "progress and exits. See snm-dkim-milter(8).\n";
// Group of the MTA that connects to a unix socket.

struct Options {
    std::string state;
    snm::SocketSpec socket;
    std::string user;
    std::string pid_file;
    bool foreground = false;
};

// Parses the command line; returns an exit status when the program should stop.
std::optional<int> parse_options(int argc, char** argv, Options& options) {
    snm::OptionParser parser({.name = kProgram,
                              .usage = kUsage,
                              .valued = {{"--state", "-s"}, {"--socket", "-p"}, {"--user", "-u"}, {"--pid-file"}},
                              .flags = {{"--foreground", "-f"}}});
    if (auto status = parser.parse(std::vector<std::string>(argv + 1, argv + argc))) return status;
    options.state = parser.value("--state").value_or("");
    options.user = parser.value("--user").value_or("");
    options.pid_file = parser.value("--pid-file").value_or("");
    options.foreground = parser.flag("--foreground");
    if (options.state.empty()) return parser.usage_error("--state is required");
    const auto socket = parser.value("--socket");
    if (!socket) return parser.usage_error("--socket is required");
    auto spec = snm::parse_socket_spec(*socket);
    if (!spec) return parser.usage_error("--socket: " + spec.error().message);
    options.socket = std::move(*spec);
    return std::nullopt;
}

}  // namespace

int main(int argc, char** argv) {
    Options options;
    if (auto exit_status = parse_options(argc, argv, options)) return *exit_status;
    snm::log_open(kProgram, options.foreground ? snm::LogTarget::Stderr : snm::LogTarget::Syslog);

    auto listener = snm::listen_on(options.socket, {0660, snm::milter::kListenBacklog, false});
    if (!listener) {
        snm::log_error("{}", listener.error().message);
        return 1;
    }
    const bool root = ::geteuid() == 0;
    if (options.socket.family == snm::SocketSpec::Family::Unix)
        if (auto given = snm::give_socket_to_mta_group(options.socket.path); !given)
            snm::log_warning("{}", given.error().message);
    std::string user = options.user;
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
    if (!options.foreground)
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
    if (!options.pid_file.empty())
        if (auto written = snm::write_pid_file(options.pid_file); !written) {
            snm::log_error("{}", written.error().message);
            return 1;
        }

    auto keys = std::make_shared<snm::milter::KeyStore>(fmt::format("{}/{}", options.state, snm::layout::kDkimFile));
    if (!keys->current())
        snm::log_warning("no usable DKIM snapshot yet ({}); mail is answered with a temporary failure until one appears (run `snmctl apply`)",
                         keys->problem());
    snm::log_info("listening on {}", options.socket.text);
    return snm::milter::serve(*listener, *signals, keys);
}
