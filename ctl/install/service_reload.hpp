// service_reload.hpp — tells the running Postfix and Dovecot of a
// deployment to re-read their configuration and certificate: SIGHUP to each
// master, which is what `postfix reload` and `doveadm reload` send. Both
// keep their listening sockets and let open sessions finish: new
// connections get the new certificate, none is dropped.
#pragma once

#include <string>
#include <vector>

#include "deployment.hpp"

namespace snm::ctl {

// One line per server: reloaded, or not running (it reads the new files
// when it starts).
std::vector<std::string> reload_mail_services(const Deployment& deployment);

}  // namespace snm::ctl
