// sandbox.hpp — what other snmctl commands need of a sandbox (`snmctl cert
// --sandbox DIR`): the configuration as the sandbox installs it, and the
// deployment of the one running in DIR.
#pragma once

#include <optional>
#include <string>

#include "command_config.hpp"
#include "deployment.hpp"

namespace snm::ctl {

// The file of -c as `sandbox up` and `sandbox apply` install it into `dir`:
// every path under `dir`; a self-signed certificate for "manual", and for
// "acme-nginx" unless acmeServer names a private ACME CA (Let's Encrypt
// cannot reach loopback).
CommandConfig sandbox_config(const OptionParser& options, const std::string& dir);

// The deployment of the sandbox `up` made in `dir`, or none.
std::optional<Deployment> running_sandbox_deployment(const std::string& dir);

// `dir` made absolute.
std::string absolute_directory(const std::string& dir);

}  // namespace snm::ctl
