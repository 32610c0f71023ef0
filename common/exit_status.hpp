// exit_status.hpp — the exit statuses every snm program shares.
#pragma once

namespace snm {

inline constexpr int kExitOk = 0;
inline constexpr int kExitFailure = 1;  // the message says what failed and why
inline constexpr int kExitUsage = 2;    // a bad command line; the usage follows the message

}  // namespace snm
