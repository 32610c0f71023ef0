// certificates.hpp — the TLS certificate Postfix and Dovecot present, for
// each of SNM's certificate schemes.
//
// manual: the administrator's files, checked (readable, key matches
// certificate, valid for the fqdn, not expired) and used where they are.
// The other schemes deploy a pair into certificateDirectory — cert-FQDN.pem
// (the chain) and key-FQDN.pem (the key followed by the chain, mode 0600:
// Postfix reads key and chain from that one file, so a renewal that
// replaces it can never show Postfix a new key with an old certificate):
// selfsigned makes one with OpenSSL's API; acme-nginx obtains one from an
// ACME CA through lego (acme.hpp); acme copies the one another ACME client
// keeps in acmeCertificateDirectory/acmeCertificateName.
#pragma once

#include <string>
#include <vector>

#include "config.hpp"
#include "deployment.hpp"
#include "result.hpp"
#include "staged_files.hpp"

namespace snm::ctl {

struct TlsPaths {
    std::string certificate;          // the chain, for Dovecot's ssl_cert
    std::string key;                  // for Dovecot's ssl_key
    std::string postfix_chain_files;  // smtpd_tls_chain_files
};

// Where the certificate and key of `config` live.
TlsPaths tls_paths(const Config& config);

// When prepare_certificate makes, obtains or copies a new pair:
// Missing — none is deployed, or it is expired or not valid for the names
// (`snmctl apply`); Due — also when it expires within 30 days (`snmctl cert
// renew`); Always — in any case (`snmctl cert renew --force`).
enum class CertificateRefresh { Missing, Due, Always };

struct CertificateChange {
    std::string report;    // what was done, one line
    bool changed = false;  // a new pair was staged: the servers must reload
};

// Makes sure a usable certificate will be in place, staging a new pair when
// `refresh` asks for one. An error leaves the deployed pair as it was.
Result<CertificateChange> prepare_certificate(const Config& config, const Deployment& deployment,
                                              CertificateRefresh refresh, StagedFiles& staged);

// What `snmctl cert status` shows of a certificate file.
struct CertificateSummary {
    std::string subject;
    std::string issuer;
    std::vector<std::string> names;  // DNS subject alternative names
    std::string serial;              // hex
    std::string not_after;           // as OpenSSL prints it
    long seconds_left = 0;           // negative once expired
};
Result<CertificateSummary> summarize_certificate(const std::string& path);

}  // namespace snm::ctl
