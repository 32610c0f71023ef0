// certificates.cpp — see certificates.hpp. OpenSSL 3 API; every handle is
// owned by a unique_ptr with its free function.
#include "certificates.hpp"

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <openssl/err.h>

#include <cstdio>
#include <ctime>
#include <fmt/format.h>
#include <memory>

namespace snm::ctl {

namespace {

constexpr int kKeyBits = 2048;
constexpr long kValidDays = 3650;        // as SNM's self-signed certificates
constexpr int kRenewBeforeDays = 30;

template <auto Free>
struct Deleter {
    template <typename T>
    void operator()(T* p) const { Free(p); }
};
using PKey = std::unique_ptr<EVP_PKEY, Deleter<EVP_PKEY_free>>;
using Certificate = std::unique_ptr<X509, Deleter<X509_free>>;
using Bio = std::unique_ptr<BIO, Deleter<BIO_free_all>>;
using Extension = std::unique_ptr<X509_EXTENSION, Deleter<X509_EXTENSION_free>>;

std::string openssl_error() {
    const unsigned long code = ERR_get_error();
    if (code == 0) return "unknown OpenSSL error";
    char text[256];
    ERR_error_string_n(code, text, sizeof text);
    return text;
}

Result<Certificate> read_certificate(const std::string& path) {
    Bio bio(BIO_new_file(path.c_str(), "r"));
    if (!bio) return Error{fmt::format("cannot read certificate {}: {}", path, openssl_error())};
    Certificate cert(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
    if (!cert) return Error{fmt::format("{} holds no PEM certificate: {}", path, openssl_error())};
    return cert;
}

Result<PKey> read_key(const std::string& path) {
    Bio bio(BIO_new_file(path.c_str(), "r"));
    if (!bio) return Error{fmt::format("cannot read key {}: {}", path, openssl_error())};
    PKey key(PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr));
    if (!key) return Error{fmt::format("{} holds no PEM private key (is it encrypted?): {}", path, openssl_error())};
    return key;
}

// Seconds until `cert` expires (negative when expired).
long seconds_left(X509* cert) {
    int days = 0, seconds = 0;
    if (!ASN1_TIME_diff(&days, &seconds, nullptr, X509_get0_notAfter(cert))) return -1;
    return static_cast<long>(days) * 86400 + seconds;
}

bool names_host(X509* cert, const std::string& fqdn) {
    return X509_check_host(cert, fqdn.c_str(), fqdn.size(), X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS, nullptr) == 1;
}

std::string to_pem(const std::function<int(BIO*)>& write) {
    Bio bio(BIO_new(BIO_s_mem()));
    if (!bio || write(bio.get()) != 1) return {};
    char* data = nullptr;
    const long size = BIO_get_mem_data(bio.get(), &data);
    return std::string(data, static_cast<std::size_t>(size));
}

struct SelfSigned {
    std::string certificate_pem;
    std::string key_pem;
};

Result<SelfSigned> make_self_signed(const std::string& fqdn) {
    PKey key(EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", static_cast<size_t>(kKeyBits)));
    if (!key) return Error{fmt::format("generating the TLS key failed: {}", openssl_error())};
    Certificate cert(X509_new());
    if (!cert) return Error{"X509_new failed"};
    X509_set_version(cert.get(), 2);
    unsigned char serial_bytes[16];
    RAND_bytes(serial_bytes, sizeof serial_bytes);
    serial_bytes[0] &= 0x7f;
    std::unique_ptr<BIGNUM, Deleter<BN_free>> serial(BN_bin2bn(serial_bytes, sizeof serial_bytes, nullptr));
    BN_to_ASN1_INTEGER(serial.get(), X509_get_serialNumber(cert.get()));
    X509_gmtime_adj(X509_getm_notBefore(cert.get()), 0);
    X509_gmtime_adj(X509_getm_notAfter(cert.get()), kValidDays * 86400);
    X509_set_pubkey(cert.get(), key.get());
    X509_NAME* name = X509_get_subject_name(cert.get());
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, reinterpret_cast<const unsigned char*>(fqdn.c_str()), -1, -1, 0);
    X509_set_issuer_name(cert.get(), name);

    X509V3_CTX context;
    X509V3_set_ctx_nodb(&context);
    X509V3_set_ctx(&context, cert.get(), cert.get(), nullptr, nullptr, 0);
    const std::string san = "DNS:" + fqdn;
    for (const auto& [nid, value] : {std::pair{NID_subject_alt_name, san.c_str()},
                                     std::pair{NID_basic_constraints, "critical,CA:FALSE"},
                                     std::pair{NID_key_usage, "critical,digitalSignature,keyEncipherment"},
                                     std::pair{NID_ext_key_usage, "serverAuth"}}) {
        Extension extension(X509V3_EXT_conf_nid(nullptr, &context, nid, value));
        if (!extension || !X509_add_ext(cert.get(), extension.get(), -1))
            return Error{fmt::format("adding certificate extension {} failed: {}", value, openssl_error())};
    }
    if (!X509_sign(cert.get(), key.get(), EVP_sha256()))
        return Error{fmt::format("signing the certificate failed: {}", openssl_error())};
    SelfSigned result;
    result.certificate_pem = to_pem([&](BIO* b) { return PEM_write_bio_X509(b, cert.get()); });
    result.key_pem = to_pem([&](BIO* b) {
        return PEM_write_bio_PrivateKey(b, key.get(), nullptr, nullptr, 0, nullptr, nullptr);
    });
    if (result.certificate_pem.empty() || result.key_pem.empty()) return Error{"writing PEM failed"};
    return result;
}

// An existing self-signed pair that is still good for `fqdn`.
bool usable_pair(const TlsPaths& paths, const std::string& fqdn) {
    auto cert = read_certificate(paths.certificate);
    auto key = read_key(paths.key);
    if (!cert || !key) return false;
    return X509_check_private_key(cert->get(), key->get()) == 1 && names_host(cert->get(), fqdn) &&
           seconds_left(cert->get()) > kRenewBeforeDays * 86400L;
}

}  // namespace

TlsPaths tls_paths(const Config& c) {
    if (c.certificateScheme == CertificateScheme::Manual) return {c.certificateFile, c.keyFile};
    return {fmt::format("{}/cert-{}.pem", c.certificateDirectory, c.fqdn),
            fmt::format("{}/key-{}.pem", c.certificateDirectory, c.fqdn)};
}

Result<std::string> prepare_certificate(const Config& config, StagedFiles& staged) {
    const auto paths = tls_paths(config);
    switch (config.certificateScheme) {
    case CertificateScheme::Manual: {
        auto cert = read_certificate(paths.certificate);
        if (!cert) return cert.error();
        auto key = read_key(paths.key);
        if (!key) return key.error();
        if (X509_check_private_key(cert->get(), key->get()) != 1)
            return Error{fmt::format("keyFile {} does not belong to certificateFile {}", paths.key, paths.certificate)};
        if (seconds_left(cert->get()) <= 0)
            return Error{fmt::format("certificateFile {} has expired; renew it", paths.certificate)};
        if (!names_host(cert->get(), config.fqdn))
            return Error{fmt::format("certificateFile {} is not valid for fqdn {}", paths.certificate, config.fqdn)};
        return std::string(fmt::format("checked {}", paths.certificate));
    }
    case CertificateScheme::SelfSigned: {
        if (usable_pair(paths, config.fqdn)) return std::string(fmt::format("kept {}", paths.certificate));
        if (auto made = make_directories(config.certificateDirectory, 0755); !made) return made.error();
        auto pair = make_self_signed(config.fqdn);
        if (!pair) return pair.error();
        if (auto s = staged.stage_content(paths.key, FileOwnership{0600, {}, {}}, pair->key_pem); !s) return s.error();
        if (auto s = staged.stage_content(paths.certificate, FileOwnership{0644, {}, {}}, pair->certificate_pem); !s)
            return s.error();
        return std::string(fmt::format("created a self-signed certificate for {}", config.fqdn));
    }
    case CertificateScheme::Acme:
        return Error{"certificateScheme \"acme\" is not supported by this snm version yet; use \"manual\" with "
                     "certificates from your ACME client (certbot, lego), or \"selfsigned\""};
    }
    return Error{"unknown certificate scheme"};
}

}  // namespace snm::ctl
