// render_rspamd.cpp — see render_rspamd.hpp.
#include "render_rspamd.hpp"

#include <fmt/format.h>

namespace snm::ctl {

namespace {

// The stock configuration our rspamd.conf builds on.
constexpr const char* kStockConfdir = "/etc/rspamd";

// The sandbox's rspamd.conf: Debian's, with the sandbox's log file. Its
// workers include override.d/ as Debian's rspamd.conf does, so the proxy and
// controller settings below are the same in both deployments.
std::string rspamd_conf(const Config& c, const Deployment& d) {
    std::string out = rendered_header("rspamd.conf", c.sourceFile);
    out += fmt::format(R"(# Start: rspamd -c {dir}/rspamd.conf --var=CONFDIR={stock} --var=LOCAL_CONFDIR={dir}
#        --var=DBDIR={var}/db --var=RUNDIR={run} --var=LOGDIR={var}/log
.include "$CONFDIR/common.conf"

options {{
    pidfile = "$RUNDIR/rspamd.pid";
    .include "$CONFDIR/options.inc"
    .include(try=true; priority=1,duplicate=merge) "$LOCAL_CONFDIR/local.d/options.inc"
}}

logging {{
    type = "file";
    filename = "{log}/rspamd.log";
    level = "notice";
}}

worker "rspamd_proxy" {{
    .include "$CONFDIR/worker-proxy.inc"
    .include(try=true; priority=10) "$LOCAL_CONFDIR/override.d/worker-proxy.inc"
}}

worker "controller" {{
    .include "$CONFDIR/worker-controller.inc"
    .include(try=true; priority=10) "$LOCAL_CONFDIR/override.d/worker-controller.inc"
}}
)",
                       fmt::arg("dir", d.rspamd_dir), fmt::arg("stock", kStockConfdir), fmt::arg("var", d.rspamd_var_dir),
                       fmt::arg("run", d.rspamd_run_dir), fmt::arg("log", d.log_dir));
    return out;
}

// Postfix's milter: scans in-process (self_scan), adds X-Spam: Yes on spam,
// rejects at end of data what rspamd says to reject (GTUBE, viruses). On a
// unix socket any local process may scan through, as on Debian's default
// localhost:11332; it holds no secret.
std::string worker_proxy_inc(const Config& c, const Deployment& d) {
    return rendered_header("rspamd override.d/worker-proxy.inc", c.sourceFile) +
           fmt::format(R"(bind_socket = "{} mode=0666";
milter = yes;
timeout = 120s;
spam_header = "X-Spam";
upstream "local" {{
    default = yes;
    self_scan = yes;
}}
count = 1;
)",
                       d.rspamd_proxy_socket());
}

// Learning (snm's sieve plugin, snm-spam-learn) and statistics; the file
// holds the password, so only rspamd's group reads it.
std::string worker_controller_inc(const Config& c, const Deployment& d, const std::string& password) {
    return rendered_header("rspamd override.d/worker-controller.inc", c.sourceFile) +
           fmt::format(R"(bind_socket = "{0} mode=0666";
# Learning needs the password except over the unix socket.
password = "{1}";
enable_password = "{1}";
)",
                       d.rspamd_controller_socket(), password);
}

std::string options_inc(const Config& c, const Deployment& d) {
    std::string out = rendered_header("rspamd local.d/options.inc", c.sourceFile);
    if (d.sandbox)
        out += fmt::format(R"(# Sandbox: no DNS (a closed loopback port answers nothing at once), a
# hyperscan cache inside the sandbox, and rspamd's test patterns: GTUBE
# beginning XJS* is rejected, YJS* adds the spam header. Never in production.
dns {{
    nameserver = ["127.0.0.1:{dead_port}"];
    timeout = 0.1s;
    retransmits = 1;
}}
hs_cache_dir = "{hs_cache}";
enable_test_patterns = true;
)",
                           fmt::arg("dead_port", d.ports.sink + 1), fmt::arg("hs_cache", d.rspamd_hs_cache_dir));
    return out;
}

}  // namespace

std::string controller_password_file(const Config& config) { return config.stateDirectory + "/rspamd-controller.password"; }

RenderedFiles render_rspamd(const Config& c, const Deployment& d, const std::string& controller_password) {
    const std::string local = d.rspamd_dir + "/local.d/";
    RenderedFiles files = {
        {local + "options.inc", options_inc(c, d), 0644},
        {local + "redis.conf",
         rendered_header("rspamd local.d/redis.conf", c.sourceFile) +
             fmt::format("# Bayes tokens and learn cache.\nservers = \"{}\";\n", d.redis_server),
         0644},
        {local + "milter_headers.conf",
         rendered_header("rspamd local.d/milter_headers.conf", c.sourceFile) +
             "# SNM's extended spam headers (X-Spamd-Result, X-Rspamd-Server, …).\nextended_spam_headers = true;\n" +
             (d.sandbox ? "# Sandbox: every client is on loopback, which rspamd would skip.\nskip_local = false;\n" : ""),
         0644},
        {local + "dkim_signing.conf",
         rendered_header("rspamd local.d/dkim_signing.conf", c.sourceFile) + "# snm-dkim-milter signs.\nenabled = false;\n",
         0644},
        {local + "arc.conf", rendered_header("rspamd local.d/arc.conf", c.sourceFile) + "enabled = false;\n", 0644},
        {d.rspamd_dir + "/override.d/worker-proxy.inc", worker_proxy_inc(c, d), 0644},
        {d.rspamd_dir + "/override.d/worker-controller.inc", worker_controller_inc(c, d, controller_password), 0640,
         kRspamdUser},
    };
    if (d.sandbox) files.push_back({d.rspamd_dir + "/rspamd.conf", rspamd_conf(c, d), 0644});
    if (d.sandbox)
        files.push_back({local + "fuzzy_check.conf",
                         rendered_header("rspamd local.d/fuzzy_check.conf", c.sourceFile) +
                             "# Sandbox: no fuzzy storage lookups (they need the Internet).\nenabled = false;\n",
                         0644});
    if (c.virusScanning)
        files.push_back({local + "antivirus.conf",
                         rendered_header("rspamd local.d/antivirus.conf", c.sourceFile) +
                             fmt::format(R"(# virusScanning: every message goes through clamd; an infected one is
# rejected at end of data (554 5.7.1).
clamav {{
    type = "clamav";
    servers = "{}";
    action = "reject";
    symbol = "CLAM_VIRUS";
    scan_mime_parts = true;
    scan_text_mime = false;
    scan_image_mime = false;
    log_clean = false;
    retransmits = 2;
    timeout = 15.0;
}}
)",
                                         d.clamd_socket),
                         0644});
    return files;
}

RenderedFiles render_sandbox_services(const Config& c, const Deployment& d) {
    RenderedFiles files = {
        {d.etc_dir + "/redis.conf",
         rendered_header("the sandbox's redis-server configuration", c.sourceFile) +
             fmt::format("port 0\nunixsocket {}\nunixsocketperm 666\ndaemonize no\nsave \"\"\nappendonly no\n"
                         "dir {}\nlogfile \"\"\n",
                         d.redis_server, d.rspamd_var_dir),
         0644},
    };
    if (c.virusScanning)
        files.push_back({d.etc_dir + "/clamd.conf",
                         rendered_header("the sandbox's clamd configuration", c.sourceFile) +
                             fmt::format("LocalSocket {}\nLocalSocketMode 666\nFixStaleSocket yes\nForeground yes\n"
                                         "User clamav\nDatabaseDirectory {}\nLogFile {}/clamd.log\nLogTime yes\n"
                                         "MaxThreads 4\n",
                                         d.clamd_socket, d.clamav_database_dir, d.log_dir),
                         0644});
    return files;
}

}  // namespace snm::ctl
