// controller_client.hpp — teaches rspamd's Bayes classifier through its
// controller (POST /learnspam or /learnham, one message per connection).
//
// Used by the Pigeonhole plugin (through learn_bridge.h) and by
// snm-spam-learn. One call is one HTTP/1.1 exchange over a unix socket or
// TCP, bounded as a whole by a timeout (connect, send and reply together) and
// by a reply size limit. rspamd's answers are classified:
//   200 {"success":true}                  learned
//   208, or 404 "... already learned ..." already learned (success: the
//                                         message is in the class asked for)
//   401/403                               permanent error: the password
//   204 (too few tokens, ...) and others  permanent error with rspamd's text
//   5xx, connect failure, timeout         temporary error
// A connection closed before the reply began is retried once (within the
// same time limit), as Postfix retries broken connections.
#pragma once

#include <chrono>
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

#include "http_response.hpp"
#include "result.hpp"
#include "socket_spec.hpp"

namespace snm::sieve {

// Whole-exchange time limit unless configured (snm_learn_timeout, --timeout).
inline constexpr std::chrono::milliseconds kDefaultControllerTimeout{5000};
// Longest time limit accepted: a learn must never hold an IMAP command for long.
inline constexpr std::chrono::milliseconds kMaxControllerTimeout{60000};
// Largest reply read from the controller; its JSON replies are tiny.
inline constexpr std::size_t kMaxReplyBytes = 64 * 1024;
// Largest message sent: rspamd's own default max_message (50 MiB).
inline constexpr std::size_t kMaxMessageBytes = 50 * 1024 * 1024;
// Largest password file read (one line is used).
inline constexpr std::size_t kMaxPasswordFileBytes = 4096;

enum class MessageClass { Spam, Ham };

// "spam" or "ham" (exactly, lower case).
std::optional<MessageClass> parse_message_class(std::string_view text);
std::string_view message_class_name(MessageClass message_class);

enum class LearnOutcome { Learned, AlreadyLearned };

struct ControllerSettings {
    SocketSpec controller;   // unix:PATH or inet:HOST:PORT
    std::string password;    // empty: no Password header is sent
    std::chrono::milliseconds timeout = kDefaultControllerTimeout;
};

// "250ms", "5s", "1m" or a bare number of seconds; 1 ms to kMaxControllerTimeout.
Result<std::chrono::milliseconds> parse_timeout(std::string_view text);

// The first line of `path`, without surrounding blanks. An empty path gives
// an empty password. A file larger than kMaxPasswordFileBytes is refused.
Result<std::string> read_password_file(const std::string& path);

// Builds settings from their text forms (as Dovecot plugin settings or
// command-line options give them). `timeout` empty = the default.
Result<ControllerSettings> make_controller_settings(std::string_view controller, const std::string& password_file,
                                                    std::string_view timeout);

// The HTTP request for one learn (exposed for tests). `user`, when not
// empty, is sent as Deliver-To (rspamd's key for per-user statistics).
std::string format_learn_request(const ControllerSettings& settings, MessageClass message_class,
                                 std::string_view user, std::size_t message_size);

// What rspamd's reply means (see the table at the top of this file).
Result<LearnOutcome> interpret_learn_reply(const HttpResponse& reply);

// Teaches `message` as `message_class`.
Result<LearnOutcome> learn_message(const ControllerSettings& settings, MessageClass message_class,
                                   std::string_view message, std::string_view user = {});

}  // namespace snm::sieve
