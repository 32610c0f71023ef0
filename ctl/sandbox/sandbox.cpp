// sandbox.cpp — `snmctl sandbox up|down|apply -c FILE --dir DIR
// [--port-base N] [--cache-dir CACHE]`: a complete private mail server in
// DIR, for trying snm and for the end-to-end tests.
//
// `up` renders the configuration into DIR (as `snmctl apply --root DIR`
// would, with loopback listeners on N+25, N+587, N+465, N+143, N+993, N+110,
// N+995, N+4190, the auth policy service on N+27 and lego's http-01
// listener on N+80, no DNS, logs in DIR/log; a self-signed certificate
// unless an ACME scheme names a private CA) and hands real Postfix,
// Dovecot, rspamd, Redis (clamd with virusScanning) and the snm daemons to
// a supervisor (supervisor.hpp) that restarts the ones that die. Mail for
// other domains is relayed to a capture sink (Postfix's smtp-sink on N+26)
// that writes each message into DIR/sink.
// Every pid, the supervisor's included, is in DIR/run/snm/*.pid; `down`
// stops the supervisor, which stops the servers (or, without one, stops
// them by pid). `apply` installs a changed snm.toml into a running sandbox
// (the servers take it live). --cache-dir CACHE lets sandboxes share
// rspamd's compiled patterns (a cold compile takes 10-30 s). Nothing outside
// DIR is written; Dovecot loads snm's auth module through a bind mount
// visible only in its own mount namespace. Needs root (Postfix's master and
// Dovecot switch users).
#include <dirent.h>
#include <fcntl.h>
#include <pwd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstring>
#include <filesystem>
#include <fmt/format.h>
#include <fstream>
#include <thread>

#include "command_config.hpp"
#include "commands.hpp"
#include "daemon.hpp"
#include "deployment.hpp"
#include "install.hpp"
#include "program_paths.hpp"
#include "render_dovecot.hpp"
#include "render_rspamd.hpp"
#include "sieve_setup.hpp"
#include "socket_spec.hpp"
#include "staged_files.hpp"
#include "sandbox.hpp"
#include "supervisor.hpp"

namespace snm::ctl {

namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

// Generous: a cold rspamd compiles its hyperscan patterns first (10-30 s on
// a loaded 2-core machine); success returns as soon as all is ready.
constexpr auto kStartTimeout = std::chrono::seconds(120);
// Eight servers, each given up to 10 s to exit by the supervisor.
constexpr auto kSupervisorStopTimeout = std::chrono::seconds(90);
// Where Dovecot looks for auth modules; fixed when Dovecot was built.
constexpr const char* kDovecotAuthModuleDir = "/usr/lib/dovecot/modules/auth";
// Unprivileged user for snm's daemons in the sandbox.
constexpr const char* kSandboxDaemonUser = "nobody";
// The user Debian's clamd runs as (rspamd's: render_rspamd.hpp).
constexpr const char* kClamavUser = "clamav";
// Where Debian's freshclam keeps the ClamAV database, when it has one.
constexpr const char* kSystemClamavDatabase = "/var/lib/clamav";
// Without a system database the sandbox's clamd knows one signature: the
// EICAR test file (68 bytes), as `sigtool --md5 eicar.com` writes it.
constexpr const char* kEicarSignature = "44d88612fea8a8f36de82e1278abb02f:68:Eicar-Test-Signature\n";

std::string pid_file(const Deployment& d, const std::string& name) { return fmt::format("{}/{}.pid", d.run_dir, name); }

// `up` records its port base and cache directory so `apply` renders the same.
std::string port_base_file(const std::string& root) { return root + "/sandbox.port-base"; }
std::string cache_dir_file(const std::string& root) { return root + "/sandbox.cache-dir"; }

// The pid the supervisor recorded for `name`, or 0.
pid_t recorded_pid(const Deployment& d, const std::string& name) {
    pid_t pid = 0;
    std::ifstream(pid_file(d, name)) >> pid;
    return pid;
}

// The Postfix master's pid, from the pid file it keeps in its queue.
std::optional<pid_t> postfix_master_pid(const Deployment& d) {
    pid_t pid = 0;
    if (std::ifstream(d.postfix_master_pid_file()) >> pid && pid > 1) return pid;
    return std::nullopt;
}

bool alive(pid_t pid) {
    int status = 0;
    if (::waitpid(pid, &status, WNOHANG) == pid) return false;  // our child, and it exited
    return ::kill(pid, 0) == 0;
}

// A readiness probe's connection to `spec_text`, or -1 while nothing
// accepts there (a full unix backlog counts as not yet ready).
int connect_probe(const std::string& spec_text) {
    constexpr auto kProbeTimeout = std::chrono::seconds(2);
    const auto spec = parse_socket_spec(spec_text);
    if (!spec) return -1;
    const auto fd = connect_to(*spec, kProbeTimeout);
    return fd ? *fd : -1;
}

bool accepts(const std::string& spec_text) {
    const int fd = connect_probe(spec_text);
    if (fd >= 0) ::close(fd);
    return fd >= 0;
}

std::string loopback(unsigned port) { return fmt::format("inet:127.0.0.1:{}", port); }

bool tcp_port_open(unsigned port) { return accepts(loopback(port)); }

bool unix_socket_open(const std::string& path) { return accepts("unix:" + path); }

// Whether the server on `port` answers with a greeting starting `prefix`
// ("220" for SMTP, "* OK" for IMAP, "+OK" for POP3): a listener alone is
// not enough, the master process holds it even when its workers die.
bool greets(unsigned port, std::string_view prefix) {
    const int fd = connect_probe(loopback(port));
    if (fd < 0) return false;
    const timeval timeout{2, 0};
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
    char banner[64] = {};
    const ssize_t n = ::recv(fd, banner, sizeof banner - 1, 0);
    ::close(fd);
    return n >= static_cast<ssize_t>(prefix.size()) &&
           std::string_view(banner, static_cast<std::size_t>(n)).starts_with(prefix);
}

std::string tail_of(const std::string& path, std::size_t lines) {
    std::ifstream in(path);
    std::vector<std::string> all;
    for (std::string line; std::getline(in, line);) all.push_back(line);
    std::string out;
    for (std::size_t i = all.size() > lines ? all.size() - lines : 0; i < all.size(); ++i) out += "  " + all[i] + "\n";
    return out;
}

// Waits until `ready` holds, failing early if the process died.
Status wait_ready(const std::string& what, pid_t pid, const std::string& log, const std::function<bool()>& ready) {
    const auto deadline = Clock::now() + kStartTimeout;
    while (Clock::now() < deadline) {
        if (ready()) return success();
        if (pid > 0 && !alive(pid))
            return Error{fmt::format("{} exited during start-up; the end of {}:\n{}", what, log, tail_of(log, 15))};
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    return Error{fmt::format("{} was not ready after {} s; the end of {}:\n{}", what,
                             std::chrono::duration_cast<std::chrono::seconds>(kStartTimeout).count(), log,
                             tail_of(log, 15))};
}

// Postfix waits for config files younger than a second to "settle".
void age_file(const std::string& path) {
    const timespec old[2] = {{::time(nullptr) - 60, 0}, {::time(nullptr) - 60, 0}};
    ::utimensat(AT_FDCWD, path.c_str(), old, 0);
}

Status prepare_directories(const Deployment& d) {
    // DIR itself must be traversable by the servers' unprivileged users.
    if (::chmod(d.root.c_str(), 0755) != 0)
        return Error{fmt::format("cannot chmod {}: {}", d.root, std::strerror(errno))};
    for (const auto& dir : {d.run_dir, d.log_dir, d.sink_dir, d.postfix_queue_dir, d.postfix_data_dir,
                            d.dovecot_state_dir, d.root + "/lib/dovecot-auth"})
        if (auto made = make_directories(dir, 0755); !made) return made;
    if (const passwd* postfix = ::getpwnam("postfix")) {
        // Postfix insists that its data directory and the sink's dump files are its own.
        if (::chown(d.postfix_data_dir.c_str(), postfix->pw_uid, postfix->pw_gid) != 0 ||
            ::chown(d.sink_dir.c_str(), postfix->pw_uid, postfix->pw_gid) != 0)
            return Error{fmt::format("cannot chown Postfix's directories: {}", std::strerror(errno))};
    } else {
        return Error{"there is no `postfix` user: install Postfix (contrib/setup-deps)"};
    }
    return success();
}

Status give_to(const std::string& path, const char* user) {
    const passwd* account = ::getpwnam(user);
    if (!account) return Error{fmt::format("there is no `{}` user: install its package (contrib/setup-deps)", user)};
    if (::chown(path.c_str(), account->pw_uid, account->pw_gid) != 0)
        return Error{fmt::format("cannot give {} to {}: {}", path, user, std::strerror(errno))};
    return success();
}

bool has_system_clamav_database() {
    std::error_code ec;
    for (const auto& entry : fs::directory_iterator(kSystemClamavDatabase, ec)) {
        const auto extension = entry.path().extension();
        if (extension == ".cvd" || extension == ".cld") return true;
    }
    return false;
}

// rspamd's and clamd's private directories, and clamd's database.
Status prepare_filter_directories(const Config& c, const Deployment& d) {
    for (const std::string& dir : {d.rspamd_var_dir + "/db", d.rspamd_run_dir, d.rspamd_var_dir + "/log",
                                   d.rspamd_hs_cache_dir}) {
        if (auto made = make_directories(dir, 0755); !made) return made;
        if (auto given = give_to(dir, kRspamdUser); !given) return given;
    }
    if (!c.virusScanning) return success();
    const std::string socket_dir = d.clamd_socket.substr(0, d.clamd_socket.rfind('/'));
    if (auto made = make_directories(socket_dir, 0755); !made) return made;
    if (auto given = give_to(socket_dir, kClamavUser); !given) return given;
    const std::string log = d.log_dir + "/clamd.log";
    std::ofstream(log, std::ios::app).close();
    if (auto given = give_to(log, kClamavUser); !given) return given;
    if (d.clamav_database_dir == kSystemClamavDatabase) return success();
    if (auto made = make_directories(d.clamav_database_dir, 0755); !made) return made;
    std::ofstream(d.clamav_database_dir + "/snm-sandbox.hdb") << kEicarSignature;
    return success();
}

// A private copy of Dovecot's auth module directory with snm's module in it.
Status prepare_auth_modules(const Deployment& d, const std::string& module) {
    const fs::path target = d.root + "/lib/dovecot-auth";
    std::error_code ec;
    for (const auto& entry : fs::directory_iterator(kDovecotAuthModuleDir, ec))
        fs::copy(entry.path(), target / entry.path().filename(), fs::copy_options::overwrite_existing, ec);
    fs::copy_file(module, target / "libauthdb_snm.so", fs::copy_options::overwrite_existing, ec);
    if (ec) return Error{fmt::format("cannot copy {} into {}: {}", module, target.string(), ec.message())};
    return success();
}

struct SandboxPrograms {
    std::string policyd, milter, auth_module, sieve_plugin;
};

Result<SandboxPrograms> find_programs(const Config& config) {
    SandboxPrograms programs;
    auto policyd = find_program(ProgramKind::Policyd);
    if (!policyd) return policyd.error();
    programs.policyd = *policyd;
    auto module = find_program(ProgramKind::DovecotAuthModule);
    if (!module) return module.error();
    programs.auth_module = *module;
    auto sieve_plugin = find_program(ProgramKind::SievePlugin);
    if (!sieve_plugin) return sieve_plugin.error();
    programs.sieve_plugin = *sieve_plugin;
    if (config.dkimSigning) {
        auto milter = find_program(ProgramKind::DkimMilter);
        if (!milter) return milter.error();
        programs.milter = *milter;
    }
    return programs;
}

Status start_all(const Config& c, const Deployment& d, const SandboxPrograms& programs) {
    const auto log = [&](const char* name) { return fmt::format("{}/{}.log", d.log_dir, name); };

    // In start order; the supervisor stops them in reverse (Postfix first, the sink last).
    std::vector<SupervisedServer> servers;
    servers.push_back({"sink", {"smtp-sink", "-u", "postfix", "-d", d.sink_dir + "/%Y%m%d%H%M%S.",
                                fmt::format("127.0.0.1:{}", d.ports.sink), "100"}});
    servers.push_back({"snm-policyd", {programs.policyd, "-f", "--state", c.stateDirectory, "--user",
                                       kSandboxDaemonUser, "--socket-mode", "0666", "--policy-socket",
                                       "unix:" + d.policy_socket(), "--socketmap-socket",
                                       "unix:" + d.socketmap_socket(), "--auth-policy-socket",
                                       d.auth_policy_socket(), "--auth-policy-key-file",
                                       auth_policy_key_file(c)}});
    // Spam and virus filtering: Redis for rspamd's Bayes, clamd, rspamd.
    servers.push_back({"redis", {"redis-server", d.etc_dir + "/redis.conf"}});
    if (c.virusScanning)
        servers.push_back({"clamd", {"clamd", "--foreground", "--config-file=" + d.etc_dir + "/clamd.conf"}});
    const std::string var = d.rspamd_var_dir;
    servers.push_back({"rspamd", {"rspamd", "-f", "-u", kRspamdUser, "-g", kRspamdUser, "-c", d.rspamd_dir + "/rspamd.conf",
                                  "--var=CONFDIR=/etc/rspamd", "--var=LOCAL_CONFDIR=" + d.rspamd_dir,
                                  "--var=DBDIR=" + var + "/db", "--var=RUNDIR=" + d.rspamd_run_dir,
                                  "--var=LOGDIR=" + var + "/log"}});
    if (c.dkimSigning)
        servers.push_back({"snm-dkim-milter", {programs.milter, "-f", "--state", c.stateDirectory, "--socket",
                                               "unix:" + d.milter_socket()}});
    if (auto s = prepare_auth_modules(d, programs.auth_module); !s) return s;
    const std::string dovecot_conf = d.dovecot_dir + "/dovecot.conf";
    servers.push_back({"dovecot", {"unshare", "-m", "--propagation", "private", "sh", "-c",
                                   fmt::format("mount --bind '{}' '{}' && exec dovecot -F -c '{}'",
                                               d.root + "/lib/dovecot-auth", kDovecotAuthModuleDir, dovecot_conf)}});
    for (const char* file : {"main.cf", "master.cf"}) age_file(d.postfix_dir + "/" + file);
    servers.push_back({"postfix", {"postfix", "-c", d.postfix_dir, "start-fg"}});
    if (auto supervisor = start_supervisor(d.run_dir, d.log_dir, servers); !supervisor) return supervisor.error();

    const pid_t sink = recorded_pid(d, "sink"), policyd = recorded_pid(d, "snm-policyd"),
                redis = recorded_pid(d, "redis"), rspamd = recorded_pid(d, "rspamd"),
                dovecot = recorded_pid(d, "dovecot"), postfix = recorded_pid(d, "postfix");
    const pid_t clamd = recorded_pid(d, "clamd"), milter = recorded_pid(d, "snm-dkim-milter");

    // Ready when every listener answers.
    if (auto s = wait_ready("the capture sink", sink, log("sink"), [&] { return tcp_port_open(d.ports.sink); }); !s) return s;
    if (auto s = wait_ready("redis-server", redis, log("redis"), [&] { return unix_socket_open(d.redis_server); }); !s)
        return s;
    if (c.virusScanning)
        if (auto s = wait_ready("clamd", clamd, log("clamd"), [&] { return unix_socket_open(d.clamd_socket); }); !s)
            return s;
    if (auto s = wait_ready("rspamd", rspamd, log("rspamd"), [&] {
            return unix_socket_open(d.rspamd_proxy_socket()) && unix_socket_open(d.rspamd_controller_socket());
        });
        !s)
        return s;
    if (auto s = wait_ready("snm-policyd", policyd, log("snm-policyd"),
                            [&] {
                                return unix_socket_open(d.policy_socket()) && unix_socket_open(d.socketmap_socket()) &&
                                       accepts(d.auth_policy_socket());
                            });
        !s)
        return s;
    if (c.dkimSigning)
        if (auto s = wait_ready("snm-dkim-milter", milter, log("snm-dkim-milter"),
                                [&] { return unix_socket_open(d.milter_socket()); });
            !s)
            return s;
    if (auto s = wait_ready("Dovecot", dovecot, log("dovecot"), [&] {
            return unix_socket_open(d.lmtp_socket()) && unix_socket_open(d.sasl_socket()) &&
                   unix_socket_open(d.quota_status_socket()) &&
                   (!c.enableImap || greets(d.ports.imap, "* OK")) && (!c.enableImapSsl || tcp_port_open(d.ports.imaps)) &&
                   (!c.enablePop3 || greets(d.ports.pop3, "+OK")) && (!c.enablePop3Ssl || tcp_port_open(d.ports.pop3s));
        });
        !s)
        return s;
    if (auto s = wait_ready("Postfix", postfix, log("postfix"), [&] {
            return greets(d.ports.smtp, "220") && (!c.enableSubmission || greets(d.ports.submission, "220")) &&
                   (!c.enableSubmissionSsl || tcp_port_open(d.ports.submissions));
        });
        !s)
        return s;
    // `postfix start-fg` runs the master as a child of its wrapper script:
    // record the master itself, which is what must be stopped.
    if (const auto master = postfix_master_pid(d)) std::ofstream(pid_file(d, "postfix")) << *master << "\n";
    return success();
}

// Stops every process the sandbox started: through its supervisor when it
// runs, else (a supervisor that is gone) by the pids the servers left.
void stop_all(const Deployment& d) {
    const std::string supervisor_file = d.run_dir + "/supervisor.pid";
    if (const pid_t supervisor = recorded_pid(d, "supervisor"); supervisor > 1 && ::kill(supervisor, 0) == 0) {
        ::kill(supervisor, SIGTERM);
        // The supervisor stops each server in turn (kStopTimeout each at worst).
        const auto deadline = Clock::now() + kSupervisorStopTimeout;
        while (alive(supervisor) && Clock::now() < deadline) std::this_thread::sleep_for(std::chrono::milliseconds(50));
        if (alive(supervisor)) ::kill(supervisor, SIGKILL);
    }
    ::unlink(supervisor_file.c_str());
    // Postfix first (nothing new comes in), the sink last (nothing is lost).
    const std::vector<std::string> order = {"postfix", "dovecot", "rspamd",     "clamd",
                                            "redis",   "snm-dkim-milter", "snm-policyd", "sink"};
    for (const auto& name : order) {
        if (const pid_t pid = recorded_pid(d, name); pid > 1 && ::kill(pid, 0) == 0) stop_process_group(pid);
        // A master that outlived its recorded pid (an interrupted `up`).
        if (name == "postfix")
            if (const auto master = postfix_master_pid(d); master && alive(*master)) stop_process_group(*master);
        ::unlink(pid_file(d, name).c_str());
    }
}

void print_connection_help(const Config& c, const Deployment& d) {
    fmt::print("snm sandbox is up in {}\n\n", d.root);
    fmt::print("  host        127.0.0.1\n");
    fmt::print("  smtp        {}   (MX, port 25)\n", d.ports.smtp);
    if (c.enableSubmission) fmt::print("  submission  {}   (STARTTLS + AUTH, port 587)\n", d.ports.submission);
    if (c.enableSubmissionSsl) fmt::print("  submissions {}   (TLS + AUTH, port 465)\n", d.ports.submissions);
    if (c.enableImap) fmt::print("  imap        {}   (STARTTLS, port 143)\n", d.ports.imap);
    if (c.enableImapSsl) fmt::print("  imaps       {}   (TLS, port 993)\n", d.ports.imaps);
    if (c.enablePop3) fmt::print("  pop3        {}   (STARTTLS, port 110)\n", d.ports.pop3);
    if (c.enablePop3Ssl) fmt::print("  pop3s       {}   (TLS, port 995)\n", d.ports.pop3s);
    if (c.enableManageSieve) fmt::print("  managesieve {}   (port 4190)\n", d.ports.managesieve);
    // The first account declared that can receive mail.
    const LoginAccount* first = nullptr;
    for (const auto& account : c.loginAccounts)
        if (!account.sendOnly && (!first || account.position.line < first->position.line)) first = &account;
    if (first) fmt::print("\n  test account: {} (password as in {})\n", first->address, c.sourceFile);
    fmt::print("\n  outgoing mail for other domains lands in {}\n", d.sink_dir);
    fmt::print("  logs: {}\n  stop: snmctl sandbox down --dir {}\n", d.log_dir, d.root);
}

// The sandbox's deployment; clamd uses the system's ClamAV database when
// there is one (freshclam cannot download here); rspamd's compiled
// patterns go to the cache directory `up` was given, if any.
Deployment sandbox_deployment_for(const std::string& dir, unsigned port_base) {
    Deployment deployment = sandbox_deployment(dir, port_base);
    if (has_system_clamav_database()) deployment.clamav_database_dir = kSystemClamavDatabase;
    std::string cache_dir;
    if (std::ifstream(cache_dir_file(dir)) >> cache_dir) deployment.rspamd_hs_cache_dir = cache_dir + "/rspamd-hyperscan";
    return deployment;
}

int sandbox_up(const OptionParser& options) {
    if (::geteuid() != 0) {
        fmt::print(stderr, "snmctl sandbox up: run as root (Postfix's master and Dovecot need it); "
                           "nothing outside --dir is touched\n");
        return kExitFailure;
    }
    const auto port_base_text = options.value("--port-base");
    if (!options.value("--dir")) return options.usage_error("missing --dir DIR");
    if (!port_base_text) return options.usage_error("missing --port-base N");
    unsigned port_base = 0;
    try {
        port_base = static_cast<unsigned>(std::stoul(*port_base_text));
    } catch (...) {
        port_base = 0;
    }
    if (port_base < 1024 || port_base + 4190 > 65535)
        return options.usage_error(
            fmt::format("--port-base must be from 1024 to {} (ports N+25 … N+4190)", 65535 - 4190));
    const std::string dir = absolute_directory(*options.value("--dir"));
    const auto sandboxed = sandbox_config(options, dir);
    if (!sandboxed.config) return sandboxed.exit_status;
    const Config& config = *sandboxed.config;
    if (auto made = make_directories(dir, 0755); !made) {
        fmt::print(stderr, "snmctl sandbox up: {}\n", made.error().message);
        return kExitFailure;
    }
    if (auto cache = options.value("--cache-dir"))
        std::ofstream(cache_dir_file(dir)) << absolute_directory(*cache) << "\n";
    else
        ::unlink(cache_dir_file(dir).c_str());
    const Deployment deployment = sandbox_deployment_for(dir, port_base);

    auto programs = find_programs(config);
    if (!programs) {
        fmt::print(stderr, "snmctl sandbox up: {}\n", programs.error().message);
        return kExitFailure;
    }
    stop_all(deployment);  // a previous sandbox in the same directory
    Status prepared = prepare_directories(deployment);
    if (prepared) prepared = prepare_filter_directories(config, deployment);
    if (prepared) prepared = link_sieve_plugins(deployment.sieve_plugin_dir, programs->sieve_plugin);
    if (!prepared) {
        fmt::print(stderr, "snmctl sandbox up: {}\n", prepared.error().message);
        return kExitFailure;
    }
    auto installed = install(config, deployment, {.reload = false});  // its servers start below
    if (!installed) {
        fmt::print(stderr, "snmctl sandbox up: {}\n", installed.error().message);
        return kExitFailure;
    }
    std::ofstream(port_base_file(dir)) << port_base << "\n";
    if (auto started = start_all(config, deployment, *programs); !started) {
        fmt::print(stderr, "snmctl sandbox up: {}\n", started.error().message);
        stop_all(deployment);
        return kExitFailure;
    }
    print_connection_help(config, deployment);
    return kExitOk;
}

// `snmctl apply` for a running sandbox: the same install, with the
// sandbox's listeners; the running servers pick the snapshots up live and
// are told to reload when their configuration changed.
int sandbox_apply(const OptionParser& options) {
    if (!options.value("--dir")) return options.usage_error("missing --dir DIR");
    const std::string dir = absolute_directory(*options.value("--dir"));
    const auto sandboxed = sandbox_config(options, dir);
    if (!sandboxed.config) return sandboxed.exit_status;
    const auto deployment = running_sandbox_deployment(dir);
    if (!deployment) {
        fmt::print(stderr, "snmctl sandbox apply: no sandbox in {} (run `snmctl sandbox up` first)\n", dir);
        return kExitFailure;
    }
    auto installed = install(*sandboxed.config, *deployment);
    if (!installed) {
        fmt::print(stderr, "snmctl sandbox apply: {}; nothing was changed\n", installed.error().message);
        return kExitFailure;
    }
    for (const auto& line : *installed) fmt::print("{}\n", line);
    return kExitOk;
}

int sandbox_down(const OptionParser& options) {
    const auto dir = options.value("--dir");
    if (!dir) return options.usage_error("missing --dir DIR");
    const std::string root = absolute_directory(*dir);
    stop_all(sandbox_deployment(root, 0));
    fmt::print("snm sandbox in {} stopped\n", root);
    return kExitOk;
}

}  // namespace

std::string absolute_directory(const std::string& dir) {
    std::error_code ec;
    return fs::absolute(dir, ec).lexically_normal().string();
}

CommandConfig sandbox_config(const OptionParser& options, const std::string& dir) {
    auto loaded = load_for_command(options, PostfixCheck::Require);
    if (!loaded.config) return loaded;
    if (!loaded.config->enable) {
        fmt::print(stderr, "snmctl sandbox: {} has `enable = false`: there is no mail server to run\n",
                   loaded.config->sourceFile);
        return {std::nullopt, kExitFailure};
    }
    // Only a CA of one's own can reach a server on loopback: Let's Encrypt cannot.
    const auto scheme = loaded.config->certificateScheme;
    const bool private_acme = scheme == CertificateScheme::AcmeNginx && loaded.config->acmeServer != Config{}.acmeServer;
    if (scheme == CertificateScheme::Manual || (scheme == CertificateScheme::AcmeNginx && !private_acme)) {
        fmt::print(stderr, "snmctl sandbox: using a self-signed certificate instead of certificateScheme \"{}\"{}\n",
                   to_string(scheme), scheme == CertificateScheme::Manual ? "" : " (set acmeServer to a private ACME CA to use it)");
        loaded.config->certificateScheme = CertificateScheme::SelfSigned;
    }
    loaded.config = rooted_at(std::move(*loaded.config), dir);
    return loaded;
}

std::optional<Deployment> running_sandbox_deployment(const std::string& dir) {
    unsigned port_base = 0;
    if (!(std::ifstream(port_base_file(dir)) >> port_base)) return std::nullopt;
    return sandbox_deployment_for(dir, port_base);
}

int run_sandbox(const Arguments& args) {
    OptionParser options({.name = "snmctl sandbox",
                          .usage = "usage: snmctl sandbox up -c FILE --dir DIR --port-base N [--cache-dir CACHE]\n"
                                   "       snmctl sandbox apply -c FILE --dir DIR\n"
                                   "       snmctl sandbox down --dir DIR\n",
                          .valued = {{"--config", "-c"}, {"--dir"}, {"--port-base"}, {"--cache-dir"}},
                          .max_positionals = 1});
    if (auto status = options.parse(args)) return *status;
    const std::string action = options.positionals().empty() ? "" : options.positionals().front();
    if (action == "up") return sandbox_up(options);
    if (action == "down") return sandbox_down(options);
    if (action == "apply") return sandbox_apply(options);
    return options.usage_error(action.empty() ? "expected `up`, `apply` or `down`"
                                              : fmt::format("expected `up`, `apply` or `down`, not `{}`", action));
}

}  // namespace snm::ctl
