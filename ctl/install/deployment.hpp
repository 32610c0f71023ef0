// deployment.hpp — where and how a rendered mail server runs: a system
// install (standard ports, system spool and sockets, syslog) or a private
// sandbox (everything under one directory, 127.0.0.1 on a port base, log
// files, outgoing mail captured by a local sink, no DNS).
//
// The renderers read only a Deployment and the Config; they never guess.
#pragma once

#include <string>

#include "config.hpp"

namespace snm::ctl {

struct Ports {
    unsigned smtp = 25;
    unsigned submission = 587;
    unsigned submissions = 465;
    unsigned imap = 143;
    unsigned imaps = 993;
    unsigned pop3 = 110;
    unsigned pop3s = 995;
    unsigned managesieve = 4190;
    unsigned sink = 0;  // sandbox only: the capture sink outgoing mail is relayed to
    // snm-policyd's Dovecot auth policy listener, on loopback: Dovecot's
    // HTTP client speaks TCP only.
    unsigned auth_policy = 10029;
    // lego's own http-01 listener (certificateScheme "acme-nginx" without acmeWebroot).
    unsigned http = 80;
};

struct Deployment {
    bool sandbox = false;
    std::string root;             // "" for a system install
    std::string listen_address;   // "" = all interfaces; sandbox: 127.0.0.1
    Ports ports;

    // Rendered configuration. A system install writes the distribution's
    // own files, which its services read (main.cf, master.cf, dovecot.conf,
    // rspamd's local.d/ and override.d/); the sandbox keeps them all under
    // <root>/etc/snm.
    std::string etc_dir;          // sandbox: <root>/etc/snm (its redis.conf, clamd.conf)
    std::string postfix_dir;      // main.cf, master.cf
    std::string dovecot_dir;      // dovecot.conf and what it includes
    // Runtime.
    std::string run_dir;          // sandbox: every socket and pid file of its own servers
    // Each daemon's own directory (systemd's RuntimeDirectory= of its unit;
    // run_dir in the sandbox).
    std::string milter_run_dir;
    std::string policyd_run_dir;
    std::string rspamd_run_dir;   // rspamd's pid file, its milter and controller sockets
    std::string dovecot_base_dir; // Dovecot's base_dir (its sockets)
    std::string dovecot_state_dir;
    std::string postfix_queue_dir;
    std::string postfix_data_dir;
    std::string log_dir;          // sandbox: log files; system: "" (syslog)
    std::string sink_dir;         // sandbox: captured outgoing mail

    // Sockets between the parts.
    // The pid files Postfix's and Dovecot's masters keep themselves.
    std::string postfix_master_pid_file() const { return postfix_queue_dir + "/pid/master.pid"; }
    std::string dovecot_master_pid_file() const { return dovecot_base_dir + "/master.pid"; }
    std::string rspamd_pid_file() const { return rspamd_run_dir + "/rspamd.pid"; }
    std::string policy_socket() const { return policyd_run_dir + "/policy"; }
    std::string socketmap_socket() const { return policyd_run_dir + "/socketmap"; }
    std::string milter_socket() const { return milter_run_dir + "/dkim-milter"; }
    std::string lmtp_socket() const { return dovecot_base_dir + "/snm-lmtp"; }
    std::string sasl_socket() const { return dovecot_base_dir + "/snm-auth"; }
    std::string quota_status_socket() const { return dovecot_base_dir + "/snm-quota-status"; }
    std::string auth_policy_socket() const { return "inet:127.0.0.1:" + std::to_string(ports.auth_policy); }
    std::string rspamd_proxy_socket() const { return rspamd_run_dir + "/milter.sock"; }
    std::string rspamd_controller_socket() const { return rspamd_run_dir + "/controller.sock"; }

    // Spam and virus filtering: rspamd's own directory and the services it
    // uses. A system install uses the distribution's Redis and clamd; the
    // sandbox starts private ones on unix sockets.
    std::string rspamd_dir;       // local.d, override.d (and the sandbox's own rspamd.conf)
    std::string rspamd_var_dir;   // sandbox: rspamd's DBDIR/RUNDIR/LOGDIR parent
    std::string rspamd_hs_cache_dir;  // sandbox: compiled hyperscan patterns (shareable)
    std::string redis_server;     // rspamd's `servers` for Redis
    std::string clamd_socket;
    std::string clamav_database_dir;  // sandbox: a private clamd's database
    // Where Pigeonhole loads sieve_imapsieve and sieve_snm from (one directory
    // for both; the sandbox links the build tree's plugin beside the stock ones).
    std::string sieve_plugin_dir = "/usr/lib/dovecot/modules/sieve";
};

// A system install under `root` ("/" normally; a prefix for packaging).
Deployment system_deployment(const std::string& root);

// A private sandbox in `directory` on 127.0.0.1, ports base+25, base+587, …
// (the auth policy listener on base+27)
Deployment sandbox_deployment(const std::string& directory, unsigned port_base);

}  // namespace snm::ctl
