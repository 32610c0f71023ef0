// socketmap.cpp — see socketmap.hpp.
#include "socketmap.hpp"

namespace snm::policyd {

namespace {

SocketmapOutcome found(std::string& reply, std::string_view data) {
    if (data.size() + 3 > kMaxSocketmapReply) {
        reply.assign("PERM answer is longer than Postfix's socketmap reply limit");
        return SocketmapOutcome::Permanent;
    }
    reply.assign("OK ");
    reply.append(data);
    return SocketmapOutcome::Found;
}

SocketmapOutcome not_found(std::string& reply) {
    reply.assign("NOTFOUND ");
    return SocketmapOutcome::NotFound;
}

SocketmapOutcome temporary(std::string& reply, std::string_view reason) {
    reply.assign("TEMP ");
    reply.append(reason);
    return SocketmapOutcome::Temporary;
}

// The reply to a lookup whose answer (when found) is in `data`.
SocketmapOutcome reply_to(Find lookup, std::string& reply, std::string_view data) {
    switch (lookup) {
        case Find::Found: return found(reply, data);
        case Find::NotFound: return not_found(reply);
        case Find::Failed: break;
    }
    return temporary(reply, "routing snapshot unreadable (see snm-policyd's log)");
}

}  // namespace

SocketmapOutcome answer_socketmap(const RoutingSnapshot* routing, std::string_view request, std::string& reply,
                                  LookupScratch& scratch) {
    const auto space = request.find(' ');
    if (space == std::string_view::npos) {
        reply.assign("PERM request is not \"<map> <key>\"");
        return SocketmapOutcome::Permanent;
    }
    const auto map = request.substr(0, space);
    const auto key = request.substr(space + 1);
    const bool known = map == "domains" || map == "mailboxes" || map == "aliases" || map == "senders";
    if (!known) {
        reply.assign("PERM unknown map \"");
        reply.append(map.substr(0, 64)).append("\" (snm-policyd serves domains, mailboxes, aliases, senders)");
        return SocketmapOutcome::Permanent;
    }
    if (!routing) return temporary(reply, "routing snapshot unavailable (see snm-policyd's log)");
    if (map == "domains") return reply_to(routing->is_local_domain(key), reply, key);
    // The lookup first: it fills the buffer the reply is made from.
    const Find lookup = map == "mailboxes" ? routing->mailbox(key, scratch.answer)
                        : map == "aliases" ? routing->resolve_alias(key, scratch.answer)
                                           : routing->sender_owners(key, scratch.answer);
    return reply_to(lookup, reply, scratch.answer);
}

}  // namespace snm::policyd
