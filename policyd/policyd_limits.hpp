// policyd_limits.hpp — every limit of snm-policyd in one place, each with
// its reason, as Postfix's mail_params.h keeps its own. None is
// configurable: each is set beyond what Postfix and Dovecot send, so only a
// broken or hostile peer meets it (snm-policyd(8), LIMITS). The login
// throttle's own limits are options ([loginThrottle] in snm.toml).
#pragma once

#include <chrono>
#include <cstddef>

namespace snm::policyd {

// --- connections ----------------------------------------------------------
inline constexpr std::size_t kMaxConnections = 4096;
// Connections the kernel queues before they are accepted: Postfix connects
// to unix sockets without waiting, so a full queue fails its lookup at once.
inline constexpr int kListenBacklog = 1024;
inline constexpr std::chrono::seconds kIdleTimeout{600};     // longer than Postfix's own idle limits (10s, 300s)
inline constexpr std::chrono::seconds kRequestTimeout{100};  // Postfix's own request timeout
inline constexpr std::chrono::seconds kDrainTimeout{5};      // SIGTERM: time to flush replies
// Replies computed but not yet taken by the client; past this, stop reading.
inline constexpr std::size_t kMaxPendingOutput = 256 * 1024;

// --- socketmap --------------------------------------------------------------
// Longest socketmap request we read ("<map> <key>"). Postfix's longest keys
// are addresses, bounded by its line_length_limit (2048).
inline constexpr std::size_t kMaxSocketmapRequest = 4096;
// Longest reply Postfix's dict_sockmap accepts (its DEF_MAX_REPLY).
inline constexpr std::size_t kMaxSocketmapReply = 100000;
// Longest netstring length prefix we read: enough digits for any limit here.
inline constexpr std::size_t kMaxNetstringDigits = 9;

// --- policy delegation --------------------------------------------------------
// Longest "name=value" line. Postfix's longest values are addresses (up to
// its line_length_limit of 2048) and xtext-encoded certificate names.
inline constexpr std::size_t kMaxPolicyLine = 4096;
// Largest whole request; Postfix 3.7 sends about 30 attributes.
inline constexpr std::size_t kMaxPolicyRequest = 32 * 1024;
// Most attribute lines in one request.
inline constexpr std::size_t kMaxPolicyAttributes = 100;

// --- auth policy (Dovecot) ------------------------------------------------------
// Dovecot's requests are a few hundred bytes; its own login names are
// limited to a few hundred bytes too.
inline constexpr std::size_t kMaxAuthPolicyHeader = 8 * 1024;
inline constexpr std::size_t kMaxAuthPolicyBody = 16 * 1024;
// The shortest key accepted (snmctl makes 32 hex digits).
inline constexpr std::size_t kMinAuthPolicyKey = 16;
// Addresses and accounts whose failed logins are counted at once, least
// recently used forgotten first: a flood of random addresses cannot
// exhaust memory (about 10 MB at most each).
inline constexpr std::size_t kMaxTrackedAddresses = 100000;
inline constexpr std::size_t kMaxTrackedAccounts = 100000;
// Longer login names are counted by their first 320 bytes (RFC 5321's
// longest address is 256).
inline constexpr std::size_t kMaxAccountKey = 320;

}  // namespace snm::policyd
