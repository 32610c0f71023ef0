// snapshot_layout.hpp — names, format stamps and record keys of the three
// snapshots `snmctl apply` compiles (see DESIGN.md, "The flow").
//
// Keys are a short prefix and a lower-cased name; meta keys start with '#'.
// Bump a format's version whenever its records change meaning: readers
// refuse a format they do not know instead of misreading it.
#pragma once

#include <string_view>

namespace snm::layout {

// accounts.cdb — for Dovecot's auth process only (holds password hashes).
inline constexpr std::string_view kAccountsFile = "accounts.cdb";
inline constexpr std::string_view kAccountsFormat = "snm-accounts 1";
inline constexpr std::string_view kPassword = "p:";  // address -> "{SCHEME}hash"
inline constexpr std::string_view kUserdb = "u:";    // address -> "home=…\tmail=…\tuid=…" (Dovecot userdb fields)

// routing.cdb — for snm-policyd (no secrets).
inline constexpr std::string_view kRoutingFile = "routing.cdb";
inline constexpr std::string_view kRoutingFormat = "snm-routing 1";
inline constexpr std::string_view kDelimiter = "#delimiter";    // recipientDelimiter
inline constexpr std::string_view kRegexCount = "#regex-count";  // number of kRegexAlias records
inline constexpr std::string_view kDomain = "d:";          // domain -> ""
inline constexpr std::string_view kMailbox = "m:";         // account -> "domain/local/"
inline constexpr std::string_view kSendOnly = "s:";        // send-only account -> reject message
inline constexpr std::string_view kAlias = "a:";           // address -> "dest1,dest2"
inline constexpr std::string_view kCatchAll = "c:";        // domain -> "account1,account2"
inline constexpr std::string_view kSenderOwners = "o:";    // address or "@domain" -> "login1,login2"
inline constexpr std::string_view kRegexAlias = "x:";      // index -> "/pattern/flags\taccount"
inline constexpr std::string_view kRejectSender = "rs:";   // address or "@domain" -> ""
inline constexpr std::string_view kRejectRecipient = "rr:";// address -> ""

// dkim.cdb — for snm-dkim-milter: which keys sign which domain.
inline constexpr std::string_view kDkimFile = "dkim.cdb";
inline constexpr std::string_view kDkimFormat = "snm-dkim 1";
inline constexpr std::string_view kCanonicalization = "#canonicalization";  // "relaxed/simple"
inline constexpr std::string_view kOnError = "#on-error";                   // "tempfail" | "accept"
inline constexpr std::string_view kInternalNetworks = "#internal-networks"; // "cidr,cidr"
inline constexpr std::string_view kSigningDomain = "k:";  // domain -> "selector\talgorithm\tkeyfile\n" per selector

}  // namespace snm::layout
