// key_set.hpp — what snm-dkim-milter signs with: the DKIM snapshot's
// domains with their private keys parsed once, the canonicalization, the
// on-error policy and the internal networks; and KeyStore, which keeps the
// current KeySet in step with the snapshot on disk.
//
// A KeySet is immutable and shared: a connection holds it for the length of
// one message, so a reload never changes keys under a message in flight.
// KeyStore rebuilds it when the snapshot file is replaced or on SIGHUP
// (request_reload, which also re-reads key files). A rebuild in which any
// key fails its checks is not taken: the previous KeySet stays in force and
// the reason is logged. At start-up, with nothing previous, domains whose
// keys fail carry the error, and their mail gets the on-error answer.
#pragma once

#include <atomic>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "config.hpp"
#include "dkim_snapshot.hpp"
#include "network_list.hpp"
#include "signer.hpp"
#include "snapshot_source.hpp"

namespace snm::milter {

struct DomainKeys {
    std::vector<SigningKey> keys;
    std::vector<const SigningKey*> signing_order;  // points into keys
    std::string selectors;                        // "a,b" for logs
    std::string error;                            // non-empty: cannot sign this domain
};

class KeySet {
public:
    // Loads and checks every key the snapshot names.
    static std::shared_ptr<const KeySet> build(const DkimSnapshot& snapshot);

    const DomainKeys* find(const std::string& domain) const;
    bool internal(std::string_view address) const { return internal_.contains(address); }
    std::size_t domain_count() const { return domains_.size(); }

    Canonicalization header_canonicalization = Canonicalization::Relaxed;
    Canonicalization body_canonicalization = Canonicalization::Relaxed;
    DkimOnError on_error = DkimOnError::Tempfail;
    std::vector<std::string> errors;    // one line per unusable key or setting
    std::vector<std::string> warnings;  // usable, but worth a look
    std::size_t key_count = 0;

private:
    std::map<std::string, DomainKeys, std::less<>> domains_;
    NetworkList internal_;
};

class KeyStore {
public:
    explicit KeyStore(std::string snapshot_path);

    // The KeySet to sign the next message with; nullptr when no snapshot or
    // no usable keys were ever loaded (problem() says why).
    std::shared_ptr<const KeySet> current();
    // Re-reads the snapshot and every key file at the next current(). Async-signal-safe.
    void request_reload();
    std::string problem();

private:
    SnapshotSource<DkimSnapshot> source_;
    std::mutex mutex_;
    std::shared_ptr<const DkimSnapshot> built_from_;
    std::shared_ptr<const KeySet> keys_;
    std::atomic<bool> reload_keys_{false};
};

}  // namespace snm::milter
