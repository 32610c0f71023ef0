// certificates.hpp — the TLS certificate Postfix and Dovecot present.
//
// selfsigned: a key and a certificate for the fqdn (subject and SAN), made
// with OpenSSL's API when missing, expiring within 30 days, or for another
// name. manual: the administrator's files, checked (readable, key matches
// certificate, not expired). acme: not supported yet — a clear error.
#pragma once

#include <string>

#include "config.hpp"
#include "result.hpp"
#include "staged_files.hpp"

namespace snm::ctl {

struct TlsPaths {
    std::string certificate;
    std::string key;
};

// Where the certificate and key of `config` live.
TlsPaths tls_paths(const Config& config);

// Makes sure a usable certificate will be in place: stages a new
// self-signed pair when one is needed, checks manual files.
// Returns what was done, for apply's report ("kept", "created", "checked").
Result<std::string> prepare_certificate(const Config& config, StagedFiles& staged);

}  // namespace snm::ctl
