// milter_session.hpp — one MTA connection's milter conversation: option
// negotiation, the events snm-dkim-milter asked for, the signing decision,
// and the replies. It reads and writes no socket: the server hands it one
// packet at a time and sends what it appended to `replies`, all at once, so
// the end-of-message answer (header insertions and the verdict) leaves in a
// single write.
//
// Negotiated away: HELO, RCPT, DATA, unknown commands, end-of-headers, and
// every reply the MTA lets us skip (connect, MAIL, each header, each body
// chunk), so a signed message costs one round trip. SMFIP_HDR_LEADSPC keeps
// header values byte-exact for simple canonicalization.
//
// Who is signing is decided from what Postfix really sends: {auth_authen}
// (requested at MAIL), the connect event's client address against
// dkim.internalNetworks, and local submission, which Postfix's cleanup
// reports as client "localhost" 127.0.0.1 port 0 (non_smtpd_milters).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "key_set.hpp"
#include "milter_limits.hpp"
#include "signer.hpp"

namespace snm::milter {


class MilterSession {
public:
    explicit MilterSession(KeyStore& keys);

    enum class Next { Continue, Close };
    // Handles one packet; appends any reply packets to `replies`.
    Next handle(char command, std::string_view data, std::string& replies);

    // Between messages (safe to close on shutdown).
    bool idle() const { return state_ == State::Idle; }

private:
    enum class State { Idle, Headers, Signing, Passing, Failing };

    void negotiate(std::string_view data, std::string& replies);
    void connect(std::string_view data);
    void macros(std::string_view data);
    void header(std::string_view data);
    // Decides whether and how to sign, from the headers (at the first body
    // chunk or the end of the message, whichever comes first).
    void decide();
    void decide_once();
    void body(std::string_view data);
    void pass(std::string reason);
    void fail(std::string reason);
    void end_of_body(std::string& replies);
    void reset_message();
    void continue_unless(std::uint32_t no_reply_flag, std::string& replies) const;
    std::string_view queue_id() const;

    KeyStore& keys_;
    std::uint32_t protocol_ = 0;  // negotiated SMFIP_* steps
    bool leading_space_ = false;

    // Connection.
    std::string client_name_;
    std::string client_address_;
    bool local_submission_ = false;

    // Message.
    State state_ = State::Idle;
    std::string auth_user_;
    std::string queue_id_;
    std::string header_bytes_;  // names and values, CRLF-normalised
    struct StoredHeader {
        std::size_t name_at, name_size, value_at, value_size;
    };
    std::vector<StoredHeader> headers_;
    std::vector<HeaderField> fields_;
    std::shared_ptr<const KeySet> key_set_;
    const DomainKeys* domain_keys_ = nullptr;
    std::string signing_domain_;
    std::string origin_;  // why this client may sign, for the log
    std::string reason_;  // why not signed, or the internal error
    MessageSigner signer_;
    std::vector<std::string> signatures_;
};

}  // namespace snm::milter
