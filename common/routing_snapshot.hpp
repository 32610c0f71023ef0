// routing_snapshot.hpp — where mail for an address goes and who may send as
// it: SNM's Postfix maps (virtual_mailbox_domains, virtual_mailbox_maps,
// virtual_alias_maps, and the sender owners in smtpd_sender_login_maps form,
// which the policy service checks) answered from the routing
// snapshot.
//
// Postfix queries socketmap tables with the full address only (no
// "@domain" or bare-user fallback), so the resolution Postfix does for
// hash: maps happens here: recipient-delimiter extensions, exact alias
// before mailbox before regexp alias before catch-all (an existing address
// always wins over a catch-all), extension propagation onto alias results.
// Answers are written into a caller's buffer, which a daemon reuses, so a
// lookup allocates nothing in the steady state. Every lookup answers
// Find::Found (for a yes/no question: yes), Find::NotFound, or Find::Failed
// when the snapshot could not be read (the caller answers "try again").
#pragma once

#include <regex.h>

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "cdb_file.hpp"
#include "config.hpp"
#include "network_list.hpp"
#include "result.hpp"

namespace snm {

class RoutingSnapshot {
public:
    // `map_limit`: see CdbFile::open.
    static Result<std::shared_ptr<const RoutingSnapshot>> open(const std::string& path,
                                                               std::uint64_t map_limit = default_map_limit());
    ~RoutingSnapshot();
    RoutingSnapshot(const RoutingSnapshot&) = delete;
    RoutingSnapshot& operator=(const RoutingSnapshot&) = delete;

    // virtual_mailbox_domains
    Find is_local_domain(std::string_view domain) const;
    // virtual_mailbox_maps: the account's maildir ("domain/local/") of an
    // address or its extension-less base, into `out`.
    Find mailbox(std::string_view address, std::string& out) const;
    // The reject message of a send-only account receiving at `address`, into `out`.
    Find send_only_message(std::string_view address, std::string& out) const;
    // virtual_alias_maps: the destinations of `address`, comma-separated,
    // into `out`. NotFound when no alias applies (the address is delivered as it is).
    Find resolve_alias(std::string_view address, std::string& out) const;
    // The logins that may use `address` as sender (smtpd_sender_login_maps form),
    // comma-separated, into `out`. NotFound when nobody owns it.
    Find sender_owners(std::string_view address, std::string& out) const;
    // Whether `login` may send as `address`; `scratch` is a reusable buffer.
    Find owns_sender(std::string_view login, std::string_view address, std::string& scratch) const;
    // rejectSender / rejectRecipients (for unauthenticated mail).
    Find is_rejected_sender(std::string_view address) const;
    Find is_rejected_recipient(std::string_view address) const;

    std::string_view recipient_delimiter() const { return delimiter_; }
    // loginThrottle's limits (enable = false when logins are not throttled;
    // allowNetworks is left empty: see login_allow()).
    const LoginThrottle& login_throttle() const { return login_throttle_; }
    // Clients never throttled: dkim.internalNetworks and loginThrottle.allowNetworks.
    const NetworkList& login_allow() const { return login_allow_; }
    const CdbFile& file() const { return *file_; }

private:
    struct RegexAlias {
        regex_t compiled;
        std::string account;
    };
    explicit RoutingSnapshot(std::shared_ptr<const CdbFile> file) : file_(std::move(file)) {}
    Status read_login_throttle();
    // The address without its extension, and the extension ("+tag"), when it has one.
    bool split_extension(std::string_view address, std::string_view& base_local, std::string_view& extension) const;
    const RegexAlias* matching_regex(std::string_view address) const;
    // The record under prefix + `address`, or else under prefix + its
    // extension-less base ("user+tag@d" -> "user@d"), into `out`.
    Find find_address(std::string_view prefix, std::string_view address, std::string& out) const;

    std::shared_ptr<const CdbFile> file_;
    std::string delimiter_;
    LoginThrottle login_throttle_;
    NetworkList login_allow_;
    std::vector<std::unique_ptr<RegexAlias>> regex_aliases_;
};

}  // namespace snm
