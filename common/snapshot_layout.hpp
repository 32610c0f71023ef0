// snapshot_layout.hpp — names, format stamps and record keys of the three
// snapshots `snmctl apply` compiles (see DESIGN.md, "The flow").
//
// Keys are a short prefix and a lower-cased name; meta keys start with '#'.
// Bump a format's version whenever its records change meaning: readers
// refuse a format they do not know instead of misreading it.
#pragma once

#include <string_view>
#include <vector>

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
// loginThrottle: "maxFailures findTime banTime maxBanTime accountMaxFailures
// accountDelay" (counts and seconds); absent when logins are not throttled.
inline constexpr std::string_view kLoginThrottle = "#login-throttle";
inline constexpr std::string_view kLoginAllow = "#login-allow";  // "cidr,cidr": never throttled
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

// The fields of a record value, split at `separator` (an empty value is one
// empty field).
inline std::vector<std::string_view> split_record(std::string_view value, char separator) {
    std::vector<std::string_view> fields;
    for (std::size_t start = 0; start <= value.size();) {
        auto end = value.find(separator, start);
        if (end == std::string_view::npos) end = value.size();
        fields.push_back(value.substr(start, end - start));
        start = end + 1;
    }
    return fields;
}

}  // namespace snm::layout
