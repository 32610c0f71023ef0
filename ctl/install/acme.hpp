// acme.hpp — a certificate from an ACME CA (Let's Encrypt by default)
// through Debian's lego, for certificateScheme "acme-nginx".
//
// lego keeps its account and certificates in <stateDirectory>/acme (its
// --path) and answers the http-01 challenge itself on port 80 (the
// sandbox's N+80), or writes it into acmeWebroot for a web server that
// already serves port 80. A private CA's root (Pebble's, a company's) is
// trusted through lego's own LEGO_CA_CERTIFICATES environment variable,
// which lego inherits from snmctl.
#pragma once

#include <string>
#include <vector>

#include "config.hpp"
#include "deployment.hpp"
#include "result.hpp"

namespace snm::ctl {

// Names on the certificate: the fqdn first (lego names its files after
// it), then certificateDomains.
std::vector<std::string> acme_certificate_names(const Config& config);

// lego's copies of the certificate (chain) and its key.
struct LegoFiles {
    std::string certificate;
    std::string key;
};
LegoFiles lego_files(const Config& config);

// Runs `lego run`: registers the account when needed and obtains a new
// certificate for acme_certificate_names(). The error quotes lego's output.
Status obtain_with_lego(const Config& config, const Deployment& deployment);

}  // namespace snm::ctl
