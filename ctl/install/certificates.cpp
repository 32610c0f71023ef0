// certificates.cpp — see certificates.hpp. OpenSSL 3 API; every handle is
// owned by a unique_ptr with its free function.
#include "certificates.hpp"

#include "acme.hpp"

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

void openssl_free(char* p) { OPENSSL_free(p); }

// A certificate chain and its key, checked: the key belongs to the first
// certificate, which names every one of `names` (the fqdn first).
struct Pair {
    std::string chain_pem;
    std::string key_pem;
    long seconds_left = 0;
};

// How errors name the two files: by their options for manual, else plainly.
struct PairLabels {
    const char* certificate = "certificate";
    const char* key = "key";
};

Result<Pair> checked_pair(const std::string& certificate_path, const std::string& key_path,
                          const std::vector<std::string>& names, PairLabels labels = {}) {
    auto cert = read_certificate(certificate_path);
    if (!cert) return cert.error();
    auto key = read_key(key_path);
    if (!key) return key.error();
    if (X509_check_private_key(cert->get(), key->get()) != 1)
        return Error{fmt::format("{} {} does not belong to {} {}", labels.key, key_path, labels.certificate, certificate_path)};
    for (std::size_t i = 0; i < names.size(); ++i)
        if (!names_host(cert->get(), names[i]))
            return Error{fmt::format("{} {} is not valid for {} {}", labels.certificate, certificate_path,
                                     i == 0 ? "fqdn" : "certificateDomains entry", names[i])};
    Pair pair;
    pair.seconds_left = seconds_left(cert->get());
    auto chain = read_file(certificate_path);
    if (!chain) return chain.error();
    pair.chain_pem = std::move(*chain);
    // Only the key's own PEM block: the deployed key file carries the chain after it.
    pair.key_pem = to_pem([&](BIO* b) { return PEM_write_bio_PrivateKey(b, key->get(), nullptr, nullptr, 0, nullptr, nullptr); });
    return pair;
}

bool fresh_enough(const Pair& pair, CertificateRefresh refresh) {
    switch (refresh) {
    case CertificateRefresh::Missing: return pair.seconds_left > 0;
    case CertificateRefresh::Due: return pair.seconds_left > kRenewBeforeDays * 86400L;
    case CertificateRefresh::Always: return false;
    }
    return false;
}

// Stages `pair` as the deployed one; the key file is the key followed by the chain.
Status stage_pair(const Config& config, const Pair& pair, StagedFiles& staged) {
    const auto paths = tls_paths(config);
    if (auto made = make_directories(config.certificateDirectory, 0755); !made) return made;
    if (auto s = staged.stage_content(paths.key, FileOwnership{0600, {}, {}}, pair.key_pem + pair.chain_pem); !s) return s;
    return staged.stage_content(paths.certificate, FileOwnership{0644, {}, {}}, pair.chain_pem);
}

// A pair kept by someone else (lego's store, another ACME client), deployed
// when it differs from the deployed one.
Result<CertificateChange> deploy_if_new(const Config& config, const Pair& pair, const std::string& source,
                                        bool always, StagedFiles& staged) {
    const auto paths = tls_paths(config);
    const auto holds = [](const std::string& path, const std::string& content) {
        auto current = read_file(path);
        return current && *current == content;
    };
    if (!always && holds(paths.certificate, pair.chain_pem) && holds(paths.key, pair.key_pem + pair.chain_pem))
        return CertificateChange{fmt::format("kept {} ({} days left)", paths.certificate, pair.seconds_left / 86400), false};
    if (auto s = stage_pair(config, pair, staged); !s) return s.error();
    return CertificateChange{fmt::format("deployed the certificate from {} ({} days left)", source, pair.seconds_left / 86400),
                             true};
}

Result<CertificateChange> prepare_self_signed(const Config& config, CertificateRefresh refresh, StagedFiles& staged) {
    const auto paths = tls_paths(config);
    if (auto deployed = checked_pair(paths.certificate, paths.key, {config.fqdn}); deployed && fresh_enough(*deployed, refresh))
        return CertificateChange{fmt::format("kept {}", paths.certificate), false};
    auto made = make_self_signed(config.fqdn);
    if (!made) return made.error();
    if (auto s = stage_pair(config, Pair{made->certificate_pem, made->key_pem, kValidDays * 86400L}, staged); !s)
        return s.error();
    return CertificateChange{fmt::format("created a self-signed certificate for {}", config.fqdn), true};
}

Result<CertificateChange> prepare_from_lego(const Config& config, const Deployment& deployment,
                                            CertificateRefresh refresh, StagedFiles& staged) {
    const auto names = acme_certificate_names(config);
    const auto lego = lego_files(config);
    auto current = checked_pair(lego.certificate, lego.key, names);
    if (!current || !fresh_enough(*current, refresh)) {
        if (auto obtained = obtain_with_lego(config, deployment); !obtained) return obtained.error();
        current = checked_pair(lego.certificate, lego.key, names);
        if (!current) return Error{fmt::format("lego reported success, but: {}", current.error().message)};
    }
    return deploy_if_new(config, *current, lego.certificate, false, staged);
}

Result<CertificateChange> prepare_from_other_client(const Config& config, CertificateRefresh refresh, StagedFiles& staged) {
    const std::string dir = config.acmeCertificateDirectory + "/" + config.acmeCertificateName;
    auto pair = checked_pair(dir + "/fullchain.pem", dir + "/privkey.pem", {config.fqdn});
    if (!pair)
        return Error{fmt::format("certificateScheme \"acme\": {} (the ACME client that keeps certificate `{}` must "
                                 "write fullchain.pem and privkey.pem into {})",
                                 pair.error().message, config.acmeCertificateName, dir)};
    if (pair->seconds_left <= 0)
        return Error{fmt::format("{}/fullchain.pem has expired: the ACME client keeping it did not renew it", dir)};
    return deploy_if_new(config, *pair, dir, refresh == CertificateRefresh::Always, staged);
}

}  // namespace

TlsPaths tls_paths(const Config& c) {
    if (c.certificateScheme == CertificateScheme::Manual)
        return {c.certificateFile, c.keyFile, fmt::format("{}, {}", c.keyFile, c.certificateFile)};
    const std::string key = fmt::format("{}/key-{}.pem", c.certificateDirectory, c.fqdn);
    return {fmt::format("{}/cert-{}.pem", c.certificateDirectory, c.fqdn), key, key};
}

Result<CertificateChange> prepare_certificate(const Config& config, const Deployment& deployment,
                                              CertificateRefresh refresh, StagedFiles& staged) {
    switch (config.certificateScheme) {
    case CertificateScheme::Manual: {
        const auto paths = tls_paths(config);
        auto pair = checked_pair(paths.certificate, paths.key, {config.fqdn}, PairLabels{"certificateFile", "keyFile"});
        if (!pair) return pair.error();
        if (pair->seconds_left <= 0)
            return Error{fmt::format("certificateFile {} has expired; renew it", paths.certificate)};
        return CertificateChange{fmt::format("checked {}", paths.certificate), false};
    }
    case CertificateScheme::SelfSigned: return prepare_self_signed(config, refresh, staged);
    case CertificateScheme::AcmeNginx: return prepare_from_lego(config, deployment, refresh, staged);
    case CertificateScheme::Acme: return prepare_from_other_client(config, refresh, staged);
    }
    return Error{"unknown certificate scheme"};
}

Result<CertificateSummary> summarize_certificate(const std::string& path) {
    auto cert = read_certificate(path);
    if (!cert) return cert.error();
    CertificateSummary summary;
    const auto name_text = [](const X509_NAME* name) {
        return to_pem([&](BIO* b) { return X509_NAME_print_ex(b, name, 0, XN_FLAG_ONELINE & ~ASN1_STRFLGS_ESC_MSB) >= 0 ? 1 : 0; });
    };
    summary.subject = name_text(X509_get_subject_name(cert->get()));
    summary.issuer = name_text(X509_get_issuer_name(cert->get()));
    summary.not_after = to_pem([&](BIO* b) { return ASN1_TIME_print(b, X509_get0_notAfter(cert->get())); });
    summary.seconds_left = seconds_left(cert->get());
    std::unique_ptr<BIGNUM, Deleter<BN_free>> serial(ASN1_INTEGER_to_BN(X509_get0_serialNumber(cert->get()), nullptr));
    if (serial) {
        std::unique_ptr<char, Deleter<openssl_free>> hex(BN_bn2hex(serial.get()));
        if (hex) summary.serial = hex.get();
    }
    using Names = std::unique_ptr<GENERAL_NAMES, Deleter<GENERAL_NAMES_free>>;
    Names names(static_cast<GENERAL_NAMES*>(X509_get_ext_d2i(cert->get(), NID_subject_alt_name, nullptr, nullptr)));
    for (int i = 0; names && i < sk_GENERAL_NAME_num(names.get()); ++i) {
        const GENERAL_NAME* name = sk_GENERAL_NAME_value(names.get(), i);
        if (name->type != GEN_DNS) continue;
        const auto* text = ASN1_STRING_get0_data(name->d.dNSName);
        summary.names.emplace_back(reinterpret_cast<const char*>(text), static_cast<std::size_t>(ASN1_STRING_length(name->d.dNSName)));
    }
    return summary;
}

}  // namespace snm::ctl
