// milter_protocol.hpp — the Sendmail/Postfix milter wire protocol, version
// 6, as snm speaks it (the constants are libmilter's mfdef.h/mfapi.h
// values, named here so neither header is needed).
//
// A packet is a 4-byte big-endian length (command byte + data), the command
// byte, and the data. The MTA opens with option negotiation; the filter
// answers which actions it may take, which events and replies it wants to
// skip (SMFIP_NO*, SMFIP_NR_*), and which macros it wants at which stage.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace snm::milter::proto {

inline constexpr std::uint32_t kVersion = 6;

// Commands from the MTA (SMFIC_*).
inline constexpr char kAbort = 'A';
inline constexpr char kBody = 'B';
inline constexpr char kConnect = 'C';
inline constexpr char kMacro = 'D';
inline constexpr char kEndOfBody = 'E';
inline constexpr char kHelo = 'H';
inline constexpr char kQuitNewConnection = 'K';
inline constexpr char kHeader = 'L';
inline constexpr char kMail = 'M';
inline constexpr char kEndOfHeaders = 'N';
inline constexpr char kNegotiate = 'O';
inline constexpr char kQuit = 'Q';
inline constexpr char kRecipient = 'R';
inline constexpr char kData = 'T';
inline constexpr char kUnknown = 'U';

// Replies (SMFIR_*).
inline constexpr char kReplyAccept = 'a';
inline constexpr char kReplyContinue = 'c';
inline constexpr char kReplyInsertHeader = 'i';
inline constexpr char kReplyTempfail = 't';

// Connect families (SMFIA_*).
inline constexpr char kFamilyUnknown = 'U';
inline constexpr char kFamilyUnix = 'L';
inline constexpr char kFamilyInet = '4';
inline constexpr char kFamilyInet6 = '6';

// Actions (SMFIF_*).
inline constexpr std::uint32_t kActionAddHeaders = 0x001;
inline constexpr std::uint32_t kActionSetMacroList = 0x100;

// Protocol steps (SMFIP_*).
inline constexpr std::uint32_t kNoConnect = 0x000001;
inline constexpr std::uint32_t kNoHelo = 0x000002;
inline constexpr std::uint32_t kNoMail = 0x000004;
inline constexpr std::uint32_t kNoRecipient = 0x000008;
inline constexpr std::uint32_t kNoBody = 0x000010;
inline constexpr std::uint32_t kNoHeaders = 0x000020;
inline constexpr std::uint32_t kNoEndOfHeaders = 0x000040;
inline constexpr std::uint32_t kNoReplyHeader = 0x000080;
inline constexpr std::uint32_t kNoUnknown = 0x000100;
inline constexpr std::uint32_t kNoData = 0x000200;
inline constexpr std::uint32_t kSkip = 0x000400;
inline constexpr std::uint32_t kRejectedRecipients = 0x000800;
inline constexpr std::uint32_t kNoReplyConnect = 0x001000;
inline constexpr std::uint32_t kNoReplyHelo = 0x002000;
inline constexpr std::uint32_t kNoReplyMail = 0x004000;
inline constexpr std::uint32_t kNoReplyRecipient = 0x008000;
inline constexpr std::uint32_t kNoReplyData = 0x010000;
inline constexpr std::uint32_t kNoReplyUnknown = 0x020000;
inline constexpr std::uint32_t kNoReplyEndOfHeaders = 0x040000;
inline constexpr std::uint32_t kNoReplyBody = 0x080000;
inline constexpr std::uint32_t kHeaderLeadingSpace = 0x100000;

// Macro stages (SMFIM_*).
inline constexpr std::uint32_t kStageConnect = 0;
inline constexpr std::uint32_t kStageMail = 2;
inline constexpr std::uint32_t kStageEndOfMessage = 5;

inline std::uint32_t read_u32(const char* p) {
    const auto* b = reinterpret_cast<const unsigned char*>(p);
    return (std::uint32_t{b[0]} << 24) | (std::uint32_t{b[1]} << 16) | (std::uint32_t{b[2]} << 8) | b[3];
}

inline void append_u32(std::string& out, std::uint32_t value) {
    const char bytes[4] = {static_cast<char>(value >> 24), static_cast<char>(value >> 16),
                           static_cast<char>(value >> 8), static_cast<char>(value)};
    out.append(bytes, 4);
}

// Starts a packet in `out`; returns the offset of its length field for finish_packet().
inline std::size_t begin_packet(std::string& out, char command) {
    const std::size_t at = out.size();
    append_u32(out, 0);
    out += command;
    return at;
}

inline void finish_packet(std::string& out, std::size_t at) {
    const auto length = static_cast<std::uint32_t>(out.size() - at - 4);
    for (int i = 0; i < 4; ++i) out[at + static_cast<std::size_t>(i)] = static_cast<char>(length >> (24 - 8 * i));
}

// Appends a NUL-terminated string.
inline void append_string(std::string& out, std::string_view text) {
    out.append(text);
    out += '\0';
}

// Reads a NUL-terminated string at `data`, advancing it; nullopt-like false if unterminated.
inline bool take_string(std::string_view& data, std::string_view& text) {
    const auto nul = data.find('\0');
    if (nul == std::string_view::npos) return false;
    text = data.substr(0, nul);
    data.remove_prefix(nul + 1);
    return true;
}

}  // namespace snm::milter::proto
