// socketmap.hpp — the tables snm-policyd serves to Postfix's socketmap:
// client (socketmap_table(5)), answered from the routing snapshot.
//
//   domains     virtual_mailbox_domains   key: a domain
//   mailboxes   virtual_mailbox_maps      key: an address -> "domain/local/"
//   aliases     virtual_alias_maps        key: an address -> "dest1,dest2"
//   senders     (for postmap -q; in smtpd_sender_login_maps form) key: an address -> "login1,login2"
//
// A request is "<map> <key>"; the reply is "OK <data>", "NOTFOUND ",
// "TEMP <reason>" (no readable snapshot: mail waits) or "PERM <reason>" (a map name
// Postfix should not have asked for). Postfix sends the full key only, so
// extensions, catch-alls and "@domain" entries are resolved by the model.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "policyd_limits.hpp"
#include "routing_snapshot.hpp"

namespace snm::policyd {

enum class SocketmapOutcome { Found, NotFound, Temporary, Permanent };

// What a connection reuses between requests, so a lookup allocates nothing
// once the buffers have grown.
struct LookupScratch {
    std::string answer;
    std::string owners;
};

// Answers one request payload into `reply` (replaced). `routing` may be null
// (no snapshot yet): the answer is TEMP.
SocketmapOutcome answer_socketmap(const RoutingSnapshot* routing, std::string_view request, std::string& reply,
                                  LookupScratch& scratch);

}  // namespace snm::policyd
