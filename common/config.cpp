// config.cpp — small queries on the Config model; see config.hpp.
#include "config.hpp"

#include <fmt/format.h>

#include <cctype>

namespace snm {

std::vector<DkimSelector> Config::selectors_for(const std::string& domain) const {
    for (const auto& entry : dkimDomains)
        if (entry.domain == domain) return entry.selectors;
    DkimSelector selector;
    selector.name = dkimSelector;
    selector.algorithm = DkimAlgorithm::Rsa;
    selector.keyBits = dkimKeyBits;
    selector.keyFile = default_dkim_key_file(domain, dkimSelector);
    return {selector};
}

std::string Config::default_dkim_key_file(const std::string& domain, const std::string& selector) const {
    return fmt::format("{}/{}.{}.key", dkimKeyDirectory, domain, selector);
}

bool is_valid_selector(std::string_view selector) {
    if (selector.empty() || selector.size() > 63) return false;
    for (std::size_t start = 0; start <= selector.size();) {
        auto end = selector.find('.', start);
        if (end == std::string_view::npos) end = selector.size();
        auto label = selector.substr(start, end - start);
        if (label.empty() || label.front() == '-' || label.back() == '-') return false;
        for (char c : label)
            if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-') return false;
        start = end + 1;
    }
    return true;
}

Config rooted_at(Config config, const std::string& root) {
    if (root.empty() || root == "/") return config;
    std::string prefix = root;
    while (prefix.size() > 1 && prefix.back() == '/') prefix.pop_back();
    for (auto* path : {&config.stateDirectory, &config.mailDirectory, &config.dkimKeyDirectory,
                       &config.certificateDirectory})
        *path = prefix + *path;
    for (auto& domain : config.dkimDomains)
        for (auto& selector : domain.selectors) selector.keyFile = prefix + selector.keyFile;
    return config;
}

const char* to_string(Canonicalization c) { return c == Canonicalization::Relaxed ? "relaxed" : "simple"; }
const char* to_string(DkimAlgorithm a) { return a == DkimAlgorithm::Rsa ? "rsa" : "ed25519"; }
const char* to_string(CertificateScheme s) {
    switch (s) {
    case CertificateScheme::Manual: return "manual";
    case CertificateScheme::SelfSigned: return "selfsigned";
    case CertificateScheme::AcmeNginx: return "acme-nginx";
    case CertificateScheme::Acme: return "acme";
    }
    return "?";
}

}  // namespace snm
