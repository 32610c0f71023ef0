// main.cpp — snm-policyd: answers Postfix's socketmap lookups (domains,
// mailboxes, aliases, senders) and SMTPD access policy requests from the
// routing snapshot that `snmctl apply` writes.
//
//   snm-policyd --state DIR --policy-socket SPEC --socketmap-socket SPEC
//               [--auth-policy-socket SPEC --auth-policy-key-file FILE]
//               [-f] [-v] [--user USER] [--socket-mode MODE]
//   snm-policyd --help | --version
//
// SPEC is unix:PATH or inet:HOST:PORT. The sockets are made first (as root
// if started as root; unix sockets get MODE, default 0660, and belong to
// USER), then the process switches to USER for good and, without -f,
// detaches and logs to syslog (facility mail). It reads only
// DIR/routing.cdb, which holds no password hashes.
#include <pwd.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <optional>
#include <string>
#include <vector>

#include "auth_policy.hpp"
#include "daemon.hpp"
#include "log.hpp"
#include "option_parser.hpp"
#include "server.hpp"
#include "snapshot_layout.hpp"
#include "socket_spec.hpp"

namespace {

constexpr const char* kProgram = "snm-policyd";
constexpr const char* kUsage =
    "usage: snm-policyd --state DIR --policy-socket SPEC --socketmap-socket SPEC\n"
    "                   [--auth-policy-socket SPEC --auth-policy-key-file FILE]\n"
    "                   [-f] [-v] [--user USER] [--socket-mode MODE]\n"
    "\n"
    "Postfix socketmap tables (domains, mailboxes, aliases, senders), SMTPD\n"
    "access policy service and Dovecot auth policy service (login throttling)\n"
    "for snm, answered from DIR/routing.cdb.\n"
    "\n"
    "  --state DIR               snm's state directory (holds routing.cdb)\n"
    "  --policy-socket SPEC      check_policy_service endpoint: unix:PATH or inet:HOST:PORT\n"
    "  --socketmap-socket SPEC   socketmap: endpoint: unix:PATH or inet:HOST:PORT\n"
    "  --auth-policy-socket SPEC Dovecot auth_policy_server_url endpoint: inet:HOST:PORT\n"
    "  --auth-policy-key-file FILE  the key Dovecot's requests carry (read at start)\n"
    "  --user USER               run as USER (required when started as root)\n"
    "  --socket-mode MODE        permissions of unix sockets, octal (default 0660)\n"
    "  -f, --foreground          stay in the foreground, log to stderr\n"
    "  -v, --verbose             log every lookup and every decision\n"
    "  -h, --help                this text\n"
    "  -V, --version             the version\n"
    "\n"
    "SIGHUP checks for a new snapshot at once (it is also checked every second);\n"
    "SIGTERM finishes the replies in progress and exits. See snm-policyd(8).\n";

struct Options {
    std::string state;
    std::string policy_socket;
    std::string socketmap_socket;
    std::string auth_policy_socket;
    std::string auth_policy_key_file;
    std::string user;
    mode_t socket_mode = 0660;
    bool foreground = false;
    bool verbose = false;
};

// Parses the command line; returns an exit status when the program should stop.
std::optional<int> parse_options(int argc, char** argv, Options& options) {
    snm::OptionParser parser({.name = kProgram,
                              .usage = kUsage,
                              .valued = {{"--state"}, {"--policy-socket"}, {"--socketmap-socket"},
                                         {"--auth-policy-socket"}, {"--auth-policy-key-file"}, {"--user"},
                                         {"--socket-mode"}},
                              .flags = {{"--foreground", "-f"}, {"--verbose", "-v"}}});
    if (auto status = parser.parse(std::vector<std::string>(argv + 1, argv + argc))) return status;
    options.state = parser.value("--state").value_or("");
    options.policy_socket = parser.value("--policy-socket").value_or("");
    options.socketmap_socket = parser.value("--socketmap-socket").value_or("");
    options.auth_policy_socket = parser.value("--auth-policy-socket").value_or("");
    options.auth_policy_key_file = parser.value("--auth-policy-key-file").value_or("");
    options.user = parser.value("--user").value_or("");
    options.foreground = parser.flag("--foreground");
    options.verbose = parser.flag("--verbose");
    if (const auto mode = parser.value("--socket-mode")) {
        unsigned parsed = 0;
        const auto [end, ec] = std::from_chars(mode->data(), mode->data() + mode->size(), parsed, 8);
        if (mode->empty() || ec != std::errc{} || end != mode->data() + mode->size() || parsed > 0777)
            return parser.usage_error("--socket-mode must be an octal mode such as 0660");
        options.socket_mode = static_cast<mode_t>(parsed);
    }
    if (options.state.empty()) return parser.usage_error("--state is required");
    if (options.policy_socket.empty()) return parser.usage_error("--policy-socket is required");
    if (options.socketmap_socket.empty()) return parser.usage_error("--socketmap-socket is required");
    if (options.auth_policy_socket.empty() != options.auth_policy_key_file.empty())
        return parser.usage_error("--auth-policy-socket and --auth-policy-key-file go together");
    return std::nullopt;
}

// The auth policy key: the file's first line, at least kMinAuthPolicyKey
// characters. Read before dropping privileges: only root reads the file.
snm::Result<std::string> read_auth_policy_key(const std::string& path) {
    std::ifstream in(path);
    std::string key;
    if (!in) return snm::Error{fmt::format("cannot read the auth policy key file {}: {}", path, std::strerror(errno))};
    std::getline(in, key);
    if (key.size() < snm::policyd::kMinAuthPolicyKey || key.find_first_of(" \t\r") != std::string::npos)
        return snm::Error{fmt::format("{}: the auth policy key must be one line of at least {} characters without "
                                      "spaces (snmctl apply makes it)",
                                      path, snm::policyd::kMinAuthPolicyKey)};
    return key;
}

// Creates a listener. A unix socket is given to group postfix (Postfix's
// processes connect to it) and, when started as root, to `user`, so the
// unprivileged daemon can remove and recreate it later.
snm::Result<int> make_listener(const std::string& text, const Options& options) {
    auto spec = snm::parse_socket_spec(text);
    if (!spec) return spec.error();
    auto fd = snm::listen_on(*spec, {options.socket_mode, snm::policyd::kListenBacklog, true});
    if (!fd) return fd.error();
    if (spec->family != snm::SocketSpec::Family::Unix) return fd;
    if (::geteuid() == 0 && !options.user.empty()) {
        if (const passwd* account = ::getpwnam(options.user.c_str()))
            if (::chown(spec->path.c_str(), account->pw_uid, static_cast<gid_t>(-1)) != 0)
                return snm::Error{fmt::format("chown {} to {} failed: {}", spec->path, options.user, std::strerror(errno))};
    }
    if (auto given = snm::give_socket_to_mta_group(spec->path); !given) snm::log_warning("{}", given.error().message);
    return fd;
}

}  // namespace

int main(int argc, char** argv) {
    Options options;
    if (auto exit_code = parse_options(argc, argv, options)) return *exit_code;
    snm::log_open(kProgram, options.foreground ? snm::LogTarget::Stderr : snm::LogTarget::Syslog, options.verbose);
    const auto fatal = [&options](const std::string& message) {
        snm::log_error("{}", message);
        if (!options.foreground) std::fprintf(stderr, "%s: fatal: %s\n", kProgram, message.c_str());
        return 1;
    };

    snm::raise_descriptor_limit();
    auto signals = snm::signal_events();
    if (!signals) return fatal(signals.error().message);
    snm::policyd::Server server(options.state + "/" + std::string(snm::layout::kRoutingFile));
    for (const auto& [protocol, text] : {std::pair{snm::policyd::Protocol::Policy, options.policy_socket},
                                        std::pair{snm::policyd::Protocol::Socketmap, options.socketmap_socket},
                                        std::pair{snm::policyd::Protocol::AuthPolicy, options.auth_policy_socket}}) {
        if (text.empty()) continue;  // --auth-policy-socket is optional
        auto fd = make_listener(text, options);
        if (!fd) return fatal(fd.error().message);
        server.add_listener(protocol, *fd, text);
    }
    if (!options.auth_policy_key_file.empty()) {
        auto key = read_auth_policy_key(options.auth_policy_key_file);
        if (!key) return fatal(key.error().message);
        server.set_auth_policy_key(std::move(*key));
    }
    if (auto dropped = snm::drop_privileges(options.user); !dropped) return fatal(dropped.error().message);
    if (!options.foreground)
        if (auto detached = snm::detach(); !detached) return fatal(detached.error().message);

    snm::log_info("starting (version {}), state {}", SNM_VERSION, options.state);
    if (auto ran = server.run(*signals); !ran) return fatal(ran.error().message);
    snm::log_info("stopped");
    return 0;
}
