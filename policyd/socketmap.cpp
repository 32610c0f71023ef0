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
    if (!routing) {
        reply.assign("TEMP routing snapshot unavailable (see snm-policyd's log)");
        return SocketmapOutcome::Temporary;
    }
    if (map == "domains") return routing->is_local_domain(key) ? found(reply, key) : not_found(reply);
    if (map == "mailboxes") {
        const auto mailbox = routing->mailbox(key);
        return mailbox ? found(reply, *mailbox) : not_found(reply);
    }
    if (map == "aliases")
        return routing->resolve_alias(key, scratch.answer) ? found(reply, scratch.answer) : not_found(reply);
    return routing->sender_owners(key, scratch.owners) ? found(reply, scratch.owners) : not_found(reply);
}

}  // namespace snm::policyd
