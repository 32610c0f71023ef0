// service_reload.hpp — tells the running Postfix, Dovecot and rspamd of a
// deployment to re-read their configuration and certificate: SIGHUP to each
// master, which is what `postfix reload`, `doveadm reload` and rspamd's
// unit's ExecReload send (the same under systemd or without it). Each keeps
// its listening sockets and lets open sessions finish: new connections get
// the new configuration and certificate, none is dropped.
#pragma once

#include <string>
#include <vector>

#include "deployment.hpp"

namespace snm::ctl {

// Which servers to tell.
struct ServicesToReload {
    bool postfix = false;
    bool dovecot = false;
    bool rspamd = false;
};

// One line per server asked for: reloaded, or not running (it reads
// `what_changed`, e.g. "the new certificate", when it starts).
std::vector<std::string> reload_services(const Deployment& deployment, const ServicesToReload& which,
                                         const std::string& what_changed);

}  // namespace snm::ctl
