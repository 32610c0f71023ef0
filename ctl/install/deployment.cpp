// deployment.cpp — see deployment.hpp.
#include "deployment.hpp"

namespace snm::ctl {

namespace {

std::string without_trailing_slash(std::string path) {
    while (path.size() > 1 && path.back() == '/') path.pop_back();
    return path == "/" ? "" : path;
}

}  // namespace

Deployment system_deployment(const std::string& root) {
    Deployment d;
    d.root = without_trailing_slash(root);
    d.etc_dir = d.root + "/etc/snm";
    d.postfix_dir = d.root + "/etc/postfix";
    d.dovecot_dir = d.root + "/etc/dovecot";
    // The units' RuntimeDirectory= (contrib/systemd) and Debian's rspamd.service.
    d.run_dir = d.root + "/run/snm";
    d.milter_run_dir = d.root + "/run/snm-dkim-milter";
    d.policyd_run_dir = d.root + "/run/snm-policyd";
    d.rspamd_run_dir = d.root + "/run/rspamd";
    d.dovecot_base_dir = d.root + "/run/dovecot";
    d.dovecot_state_dir = d.root + "/var/lib/dovecot";
    d.postfix_queue_dir = d.root + "/var/spool/postfix";
    d.postfix_data_dir = d.root + "/var/lib/postfix";
    d.rspamd_dir = d.root + "/etc/rspamd";
    d.redis_server = "127.0.0.1:6379";          // Debian's redis-server
    d.clamd_socket = "/run/clamav/clamd.ctl";   // Debian's clamav-daemon
    return d;
}

Deployment sandbox_deployment(const std::string& directory, unsigned port_base) {
    Deployment d = system_deployment(directory);
    d.sandbox = true;
    d.listen_address = "127.0.0.1";
    d.ports = Ports{port_base + 25,  port_base + 587, port_base + 465, port_base + 143, port_base + 993,
                    port_base + 110, port_base + 995, port_base + 4190, port_base + 26, port_base + 27,
                    port_base + 80};
    d.postfix_dir = d.etc_dir + "/postfix";
    d.dovecot_dir = d.etc_dir + "/dovecot";
    d.rspamd_dir = d.etc_dir + "/rspamd";
    d.milter_run_dir = d.policyd_run_dir = d.run_dir;
    d.rspamd_var_dir = d.root + "/var/lib/snm-rspamd";
    d.rspamd_run_dir = d.rspamd_var_dir + "/run";
    d.log_dir = d.root + "/log";
    d.sink_dir = d.root + "/sink";
    d.redis_server = d.run_dir + "/redis.sock";
    d.clamd_socket = d.run_dir + "/clamd/clamd.sock";  // a directory clamd's user owns
    d.clamav_database_dir = d.root + "/var/lib/clamav";
    d.rspamd_hs_cache_dir = d.rspamd_var_dir + "/hs_cache";
    d.sieve_plugin_dir = d.root + "/lib/sieve-plugins";
    return d;
}

}  // namespace snm::ctl
