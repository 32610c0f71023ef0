// dkim_keys.cpp — see dkim_keys.hpp.
#include "dkim_keys.hpp"

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fmt/format.h>
#include <fstream>
#include <sstream>

namespace snm {

namespace {

struct BioFree {
    void operator()(BIO* bio) const { BIO_free(bio); }
};
using BioPtr = std::unique_ptr<BIO, BioFree>;
struct PkeyCtxFree {
    void operator()(EVP_PKEY_CTX* ctx) const { EVP_PKEY_CTX_free(ctx); }
};
using PkeyCtxPtr = std::unique_ptr<EVP_PKEY_CTX, PkeyCtxFree>;

// Largest key file read (an RSA-8192 PEM is ≈6.3 KB).
constexpr std::size_t kMaxKeyFileSize = 64 * 1024;
// Raw Ed25519 public key size (RFC 8032).
constexpr std::size_t kEd25519PublicKeySize = 32;

// The most recent OpenSSL error, for messages.
std::string openssl_error() {
    const unsigned long code = ERR_get_error();
    ERR_clear_error();
    if (code == 0) return "unknown OpenSSL error";
    char text[256];
    ERR_error_string_n(code, text, sizeof text);
    return text;
}

std::string base64(const unsigned char* data, std::size_t size) {
    std::string out(4 * ((size + 2) / 3), '\0');
    const int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()), data, static_cast<int>(size));
    out.resize(static_cast<std::size_t>(n));
    return out;
}

Result<std::string> read_small_file(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) return Error{fmt::format("cannot read {}: {}", path, std::strerror(errno)), true};
    std::string content;
    content.resize(kMaxKeyFileSize + 1);
    in.read(content.data(), static_cast<std::streamsize>(content.size()));
    content.resize(static_cast<std::size_t>(in.gcount()));
    if (content.size() > kMaxKeyFileSize)
        return Error{fmt::format("{} is larger than {} bytes; it is not a DKIM key", path, kMaxKeyFileSize)};
    return content;
}

// Owner for generated keys: the milter's account when running as root.
FileOwnership key_ownership(mode_t mode) {
    FileOwnership ownership{mode, {}, {}};
    if (::geteuid() == 0)
        if (const passwd* user = ::getpwnam(std::string(kDkimMilterUser).c_str())) {
            ownership.uid = user->pw_uid;
            ownership.gid = user->pw_gid;
        }
    return ownership;
}

}  // namespace

Result<EvpPkeyPtr> generate_dkim_key(DkimAlgorithm algorithm, unsigned rsa_bits) {
    if (algorithm == DkimAlgorithm::Rsa && rsa_bits < kMinimumRsaBits)
        return Error{fmt::format("RSA keys need at least {} bits (asked for {})", kMinimumRsaBits, rsa_bits)};
    PkeyCtxPtr ctx(EVP_PKEY_CTX_new_id(algorithm == DkimAlgorithm::Rsa ? EVP_PKEY_RSA : EVP_PKEY_ED25519, nullptr));
    if (!ctx || EVP_PKEY_keygen_init(ctx.get()) <= 0) return Error{"key generation failed: " + openssl_error()};
    if (algorithm == DkimAlgorithm::Rsa && EVP_PKEY_CTX_set_rsa_keygen_bits(ctx.get(), static_cast<int>(rsa_bits)) <= 0)
        return Error{"key generation failed: " + openssl_error()};
    EVP_PKEY* key = nullptr;
    if (EVP_PKEY_keygen(ctx.get(), &key) <= 0) return Error{"key generation failed: " + openssl_error()};
    return EvpPkeyPtr(key);
}

Result<std::string> private_key_pem(EVP_PKEY* key) {
    BioPtr bio(BIO_new(BIO_s_mem()));
    if (!bio || PEM_write_bio_PrivateKey(bio.get(), key, nullptr, nullptr, 0, nullptr, nullptr) != 1)
        return Error{"cannot encode the private key: " + openssl_error()};
    char* data = nullptr;
    const long size = BIO_get_mem_data(bio.get(), &data);
    return std::string(data, static_cast<std::size_t>(size));
}

Result<std::string> dkim_public_key(EVP_PKEY* key) {
    if (EVP_PKEY_get_base_id(key) == EVP_PKEY_ED25519) {
        unsigned char raw[kEd25519PublicKeySize];
        std::size_t size = sizeof raw;
        if (EVP_PKEY_get_raw_public_key(key, raw, &size) != 1 || size != sizeof raw)
            return Error{"cannot extract the Ed25519 public key: " + openssl_error()};
        return base64(raw, size);
    }
    unsigned char* der = nullptr;
    const int size = i2d_PUBKEY(key, &der);
    if (size <= 0) return Error{"cannot encode the public key: " + openssl_error()};
    std::string encoded = base64(der, static_cast<std::size_t>(size));
    OPENSSL_free(der);
    return encoded;
}

std::string dkim_txt_value(DkimAlgorithm algorithm, std::string_view public_key) {
    return fmt::format("v=DKIM1; k={}; p={}", to_string(algorithm), public_key);
}

std::string quoted_txt_strings(std::string_view value) {
    std::string out;
    for (std::size_t at = 0; at < value.size(); at += kMaxTxtString) {
        if (!out.empty()) out += ' ';
        out += '"';
        for (char c : value.substr(at, kMaxTxtString)) {
            if (c == '"' || c == '\\') out += '\\';
            out += c;
        }
        out += '"';
    }
    return out;
}

std::string dkim_zone_record(std::string_view domain, std::string_view selector, std::string_view txt_value) {
    return fmt::format("{}._domainkey.{}. {} IN TXT {}", selector, domain, kDnsTtl, quoted_txt_strings(txt_value));
}

std::string dkim_txt_path(const std::string& key_file) {
    if (key_file.ends_with(".key")) return key_file.substr(0, key_file.size() - 4) + ".txt";
    return key_file + ".txt";
}

std::optional<std::string> public_key_of_txt_record(std::string_view zone_text) {
    // Join every quoted character-string (comments after ';' outside quotes end a line).
    std::string joined;
    bool quoted = false, comment = false;
    for (std::size_t i = 0; i < zone_text.size(); ++i) {
        const char c = zone_text[i];
        if (comment) {
            if (c == '\n') comment = false;
        } else if (quoted) {
            if (c == '\\' && i + 1 < zone_text.size()) joined += zone_text[++i];
            else if (c == '"') quoted = false;
            else joined += c;
        } else if (c == '"') {
            quoted = true;
        } else if (c == ';') {
            comment = true;
        }
    }
    // Tags: "name=value" separated by ';' (RFC 6376 §3.2), whitespace ignored in p=.
    std::string_view rest = joined;
    while (!rest.empty()) {
        const auto end = rest.find(';');
        std::string_view tag = rest.substr(0, end);
        rest = end == std::string_view::npos ? std::string_view{} : rest.substr(end + 1);
        while (!tag.empty() && (tag.front() == ' ' || tag.front() == '\t')) tag.remove_prefix(1);
        if (!tag.starts_with("p") ) continue;
        auto after = tag.substr(1);
        while (!after.empty() && (after.front() == ' ' || after.front() == '\t')) after.remove_prefix(1);
        if (after.empty() || after.front() != '=') continue;
        std::string value;
        for (char c : after.substr(1))
            if (c != ' ' && c != '\t' && c != '\r' && c != '\n') value += c;
        return value;
    }
    return std::nullopt;
}

Status check_key_file_safety(const std::string& path) {
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0)
        return Error{fmt::format("cannot open DKIM key {}: {} (run `snmctl apply` or `snmctl dkim keygen` to create it)",
                                 path, std::strerror(errno)), true};
    if (!S_ISREG(st.st_mode)) return Error{fmt::format("DKIM key {} is not a regular file", path)};
    if ((st.st_mode & 077) != 0)
        return Error{fmt::format("DKIM key {} is accessible to group or others (mode {:04o}); run `chmod 600 {}`",
                                 path, st.st_mode & 07777, path)};
    std::string directory = parent_directory(path);
    bool own_directory = true;
    while (true) {
        struct stat dir {};
        if (::stat(directory.c_str(), &dir) != 0)
            return Error{fmt::format("cannot check directory {} of DKIM key {}: {}", directory, path, std::strerror(errno))};
        const bool others_write = (dir.st_mode & S_IWOTH) != 0;
        const bool sticky = (dir.st_mode & S_ISVTX) != 0;
        if (others_write && (own_directory || !sticky))
            return Error{fmt::format("directory {} holding DKIM key {} is writable by others (mode {:04o}), so anyone "
                                     "could replace the key; run `chmod o-w {}`",
                                     directory, path, dir.st_mode & 07777, directory)};
        if (directory == "/" || directory == ".") break;
        directory = parent_directory(directory);
        own_directory = false;
    }
    return success();
}

Result<DkimKey> read_dkim_key(const std::string& path) {
    auto pem = read_small_file(path);
    if (!pem) return pem.error();
    BioPtr bio(BIO_new_mem_buf(pem->data(), static_cast<int>(pem->size())));
    EVP_PKEY* raw = bio ? PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr) : nullptr;
    if (!raw)
        return Error{fmt::format("DKIM key {} is not a PEM private key ({}); recreate it: remove the file and run "
                                 "`snmctl apply`", path, openssl_error())};
    DkimKey loaded;
    loaded.key.reset(raw);
    const int id = EVP_PKEY_get_base_id(raw);
    if (id == EVP_PKEY_RSA) loaded.algorithm = DkimAlgorithm::Rsa;
    else if (id == EVP_PKEY_ED25519) loaded.algorithm = DkimAlgorithm::Ed25519;
    else return Error{fmt::format("DKIM key {} is neither RSA nor Ed25519; DKIM signs with rsa-sha256 or ed25519-sha256", path)};
    loaded.bits = static_cast<unsigned>(EVP_PKEY_get_bits(raw));
    auto public_key = dkim_public_key(raw);
    if (!public_key) return Error{fmt::format("DKIM key {}: {}", path, public_key.error().message)};
    loaded.public_key = std::move(*public_key);
    return loaded;
}

Result<DkimKey> load_dkim_key(const std::string& path, DkimAlgorithm expected) {
    if (auto safe = check_key_file_safety(path); !safe) return safe.error();
    auto loaded = read_dkim_key(path);
    if (!loaded) return loaded.error();
    if (loaded->algorithm != expected)
        return Error{fmt::format("DKIM key {} is an {} key but its selector is configured as {}; fix `algorithm` in "
                                 "snm.toml or replace the key", path, to_string(loaded->algorithm), to_string(expected))};
    if (loaded->algorithm == DkimAlgorithm::Rsa && loaded->bits < kMinimumRsaBits)
        return Error{fmt::format("DKIM key {} has {} bits; RSA keys under {} bits are refused (RFC 8301): remove it and "
                                 "run `snmctl apply` to generate a new key of `keyLength` bits",
                                 path, loaded->bits, kMinimumRsaBits)};
    const auto txt_path = dkim_txt_path(path);
    if (std::ifstream txt{txt_path}) {
        std::stringstream text;
        text << txt.rdbuf();
        const auto published = public_key_of_txt_record(text.str());
        if (!published || *published != loaded->public_key)
            return Error{fmt::format("DKIM key {} does not match its TXT record {}, so its signatures would not "
                                     "verify: if the key is the right one, publish the record `snmctl dkim dns` prints "
                                     "for it and write that record into {}; then reload", path, txt_path, txt_path)};
    } else {
        loaded->warning = fmt::format("DKIM key {} has no TXT record file {}; check the published record against "
                                      "`snmctl dkim dns`", path, txt_path);
    }
    return loaded;
}

Result<GeneratedKey> stage_dkim_key(const std::string& domain, const DkimSelector& selector, StagedFiles& staged) {
    if (path_exists(selector.keyFile))
        return Error{fmt::format("DKIM key {} exists already; a key is never replaced under the same selector "
                                 "(DNS caches keep the old record), so use a new selector", selector.keyFile)};
    const auto directory = parent_directory(selector.keyFile);
    if (auto made = make_directories(directory, 0750); !made) return made.error();
    if (const auto owner = key_ownership(0750); owner.uid && ::chown(directory.c_str(), *owner.uid, *owner.gid) != 0)
        return Error{fmt::format("cannot give {} to {}: {}", directory, kDkimMilterUser, std::strerror(errno))};
    auto key = generate_dkim_key(selector.algorithm, selector.keyBits);
    if (!key) return Error{fmt::format("selector {} of {}: {}", selector.name, domain, key.error().message)};
    auto pem = private_key_pem(key->get());
    if (!pem) return pem.error();
    auto public_key = dkim_public_key(key->get());
    if (!public_key) return public_key.error();
    const auto record = dkim_zone_record(domain, selector.name, dkim_txt_value(selector.algorithm, *public_key));
    const auto comment = fmt::format("; DKIM {} key {} for {}: publish this record\n",
                                     to_string(selector.algorithm), selector.name, domain);
    if (auto s = staged.stage_content(selector.keyFile, key_ownership(0600), *pem); !s) return s.error();
    if (auto s = staged.stage_content(dkim_txt_path(selector.keyFile), key_ownership(0644), comment + record + "\n");
        !s)
        return s.error();
    return GeneratedKey{domain, selector.name, selector.keyFile, record};
}

Result<std::vector<GeneratedKey>> stage_missing_dkim_keys(const Config& config, StagedFiles& staged) {
    std::vector<GeneratedKey> generated;
    if (!config.dkimSigning) return generated;
    for (const auto& domain : config.domains)
        for (const auto& selector : config.selectors_for(domain)) {
            if (path_exists(selector.keyFile)) continue;
            auto key = stage_dkim_key(domain, selector, staged);
            if (!key) return key.error();
            generated.push_back(std::move(*key));
        }
    return generated;
}

}  // namespace snm
