// dkim_snapshot.hpp — the DKIM table as snm-dkim-milter sees it: which
// selectors (algorithm, key file) sign each domain, the canonicalization,
// what to do on an internal error, and which networks count as internal.
// Small: read whole into plain values when opened.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "config.hpp"
#include "result.hpp"

namespace snm {

struct DkimSigningKey {
    std::string selector;
    DkimAlgorithm algorithm = DkimAlgorithm::Rsa;
    std::string key_file;
};

class DkimSnapshot {
public:
    static Result<std::shared_ptr<const DkimSnapshot>> open(const std::string& path);

    // Selectors of a signing domain (lower case), or nullptr.
    const std::vector<DkimSigningKey>* selectors(const std::string& domain) const;
    const std::map<std::string, std::vector<DkimSigningKey>>& domains() const { return domains_; }

    Canonicalization header_canonicalization = Canonicalization::Relaxed;
    Canonicalization body_canonicalization = Canonicalization::Relaxed;
    DkimOnError on_error = DkimOnError::Tempfail;
    std::vector<std::string> internal_networks;  // CIDR strings
    std::string path;

private:
    std::map<std::string, std::vector<DkimSigningKey>> domains_;
};

}  // namespace snm
