// milter_limits.hpp — every limit of snm-dkim-milter in one place, each with
// its reason, as Postfix's mail_params.h keeps its own. None is
// configurable: each is set well beyond what Postfix sends, so only a
// broken or hostile peer meets it (snm-dkim-milter(8), LIMITS).
#pragma once

#include <cstddef>
#include <cstdint>

namespace snm::milter {

// --- connections ----------------------------------------------------------
// Connections served at once (one thread each); more are closed at accept,
// and Postfix applies milter_default_action.
inline constexpr int kMaxConnections = 1024;
// Connections the kernel queues before the milter accepts them. Postfix
// connects to a unix socket without waiting, so a full queue (a burst, or
// a flood from a local user) would tempfail mail at once: as many as are
// served.
inline constexpr int kListenBacklog = kMaxConnections;
// Seconds an MTA connection may stay silent before it is closed (Postfix
// keeps a milter connection for a whole SMTP session; smtpd's own idle
// timeout is 300 s).
inline constexpr int kIdleTimeoutSeconds = 3600;
// Seconds SIGTERM waits for connections to finish their message.
inline constexpr int kDrainTimeoutSeconds = 30;
// Milliseconds the listener pauses when accept fails for lack of
// descriptors or memory, instead of spinning on the ready listener.
inline constexpr int kAcceptPauseMs = 100;

// --- input ------------------------------------------------------------------
// Largest packet accepted: the 1 MiB body chunks of SMFIP_MDS_1M plus headroom.
inline constexpr std::uint32_t kMaxPacket = 1024 * 1024 + 64;
// Longest header block kept per message (Postfix's header_size_limit is
// 100 KiB); a longer one is not signed, and the error policy applies.
inline constexpr std::size_t kMaxHeaderBytes = 1024 * 1024;
// Longest From value examined (RFC 5322's line limit is 998; folded headers
// may be longer).
inline constexpr std::size_t kMaxFromLength = 16 * 1024;

// --- output -----------------------------------------------------------------
// Largest signature produced (RSA-16384 is 2048 bytes).
inline constexpr std::size_t kMaxSignatureBytes = 2048;
// Longest header value quoted in a log line.
inline constexpr std::size_t kMaxLoggedValue = 200;

}  // namespace snm::milter
