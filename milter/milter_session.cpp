// milter_session.cpp — see milter_session.hpp.
#include "milter_session.hpp"

#include <ctime>
#include <fmt/format.h>

#include "ascii.hpp"
#include "from_address.hpp"
#include "log.hpp"
#include "milter_protocol.hpp"

namespace snm::milter {

namespace {

using namespace proto;

// Events and replies we ask the MTA to skip (it grants what it supports).
constexpr std::uint32_t kWantedSteps = kNoHelo | kNoRecipient | kNoData | kNoUnknown | kNoEndOfHeaders |
                                       kNoReplyConnect | kNoReplyHelo | kNoReplyMail | kNoReplyRecipient |
                                       kNoReplyData | kNoReplyUnknown | kNoReplyEndOfHeaders | kNoReplyHeader |
                                       kNoReplyBody | kHeaderLeadingSpace;
// Macros wanted, per stage: who authenticated, and the queue id for the log.
constexpr std::string_view kMailMacros = "{auth_authen} i";
constexpr std::string_view kEndOfMessageMacros = "i";
// Postfix's local-submission stand-in for a client (cleanup_milter.c).
constexpr std::string_view kLocalClientName = "localhost";
constexpr std::string_view kLocalClientAddress = "127.0.0.1";

std::string loggable(std::string_view value) {
    std::string out;
    for (char c : value.substr(0, kMaxLoggedValue)) out += (c == '\r' || c == '\n') ? ' ' : c;
    if (value.size() > kMaxLoggedValue) out += "…";
    return out;
}

bool is_from(std::string_view name) { return ascii_iequals(name, "from"); }

}  // namespace

MilterSession::MilterSession(KeyStore& keys) : keys_(keys) {}

void MilterSession::continue_unless(std::uint32_t no_reply_flag, std::string& replies) const {
    if ((protocol_ & no_reply_flag) == 0) finish_packet(replies, begin_packet(replies, kReplyContinue));
}

std::string_view MilterSession::queue_id() const {
    if (queue_id_.empty()) return "NOQUEUE";
    return queue_id_;
}

MilterSession::Next MilterSession::handle(char command, std::string_view data, std::string& replies) {
    switch (command) {
    case kNegotiate:
        if (data.size() < 12) {
            log_warning("the MTA sent a short option negotiation ({} bytes); closing", data.size());
            return Next::Close;
        }
        negotiate(data, replies);
        return Next::Continue;
    case kConnect:
        connect(data);
        continue_unless(kNoReplyConnect, replies);
        return Next::Continue;
    case kHelo: continue_unless(kNoReplyHelo, replies); return Next::Continue;
    case kMacro: macros(data); return Next::Continue;
    case kMail:
        state_ = State::Headers;
        continue_unless(kNoReplyMail, replies);
        return Next::Continue;
    case kRecipient: continue_unless(kNoReplyRecipient, replies); return Next::Continue;
    case kData: continue_unless(kNoReplyData, replies); return Next::Continue;
    case kUnknown: continue_unless(kNoReplyUnknown, replies); return Next::Continue;
    case kHeader:
        header(data);
        continue_unless(kNoReplyHeader, replies);
        return Next::Continue;
    case kEndOfHeaders: continue_unless(kNoReplyEndOfHeaders, replies); return Next::Continue;
    case kBody:
        body(data);
        continue_unless(kNoReplyBody, replies);
        return Next::Continue;
    case kEndOfBody:
        if (!data.empty()) body(data);
        end_of_body(replies);
        return Next::Continue;
    case kAbort: reset_message(); return Next::Continue;
    case kQuitNewConnection:
        reset_message();
        client_name_.clear();
        client_address_.clear();
        local_submission_ = false;
        return Next::Continue;
    case kQuit: return Next::Close;
    default:
        log_warning("the MTA sent unknown milter command 0x{:02x}; closing", static_cast<unsigned char>(command));
        return Next::Close;
    }
}

void MilterSession::negotiate(std::string_view data, std::string& replies) {
    const std::uint32_t version = read_u32(data.data());
    const std::uint32_t actions = read_u32(data.data() + 4);
    const std::uint32_t offered = read_u32(data.data() + 8);
    if ((actions & kActionAddHeaders) == 0)
        log_warning("the MTA does not let this milter add headers: nothing can be signed");
    protocol_ = kWantedSteps & offered;
    leading_space_ = (protocol_ & kHeaderLeadingSpace) != 0;
    const bool set_macros = (actions & kActionSetMacroList) != 0;
    const auto at = begin_packet(replies, kNegotiate);
    append_u32(replies, version < kVersion ? version : kVersion);
    append_u32(replies, kActionAddHeaders | (set_macros ? kActionSetMacroList : 0));
    append_u32(replies, protocol_);
    if (set_macros) {
        append_u32(replies, kStageMail);
        append_string(replies, kMailMacros);
        append_u32(replies, kStageEndOfMessage);
        append_string(replies, kEndOfMessageMacros);
    }
    finish_packet(replies, at);
}

void MilterSession::connect(std::string_view data) {
    std::string_view name, address;
    if (!take_string(data, name) || data.empty()) return;
    client_name_ = name;
    client_address_.clear();
    local_submission_ = false;
    const char family = data.front();
    data.remove_prefix(1);
    if ((family == kFamilyInet || family == kFamilyInet6 || family == kFamilyUnix) && data.size() >= 2) {
        const unsigned port = (static_cast<unsigned char>(data[0]) << 8) | static_cast<unsigned char>(data[1]);
        data.remove_prefix(2);
        if (take_string(data, address)) client_address_ = address;
        local_submission_ = family == kFamilyInet && port == 0 && name == kLocalClientName &&
                            address == kLocalClientAddress;
    }
}

void MilterSession::macros(std::string_view data) {
    if (data.empty()) return;
    data.remove_prefix(1);  // the command the macros belong to
    std::string_view name, value;
    while (take_string(data, name) && take_string(data, value)) {
        if (name.size() > 2 && name.front() == '{' && name.back() == '}') name = name.substr(1, name.size() - 2);
        if (name == "auth_authen") auth_user_ = value;
        else if (name == "i") queue_id_ = value;
    }
}

void MilterSession::header(std::string_view data) {
    if (state_ == State::Idle) state_ = State::Headers;
    std::string_view name, value;
    if (!take_string(data, name) || !take_string(data, value)) return;
    if (state_ != State::Headers) return;  // decided already (headers after the body cannot happen)
    if (header_bytes_.size() + name.size() + value.size() > kMaxHeaderBytes) {
        pass(fmt::format("the header is larger than {} bytes", kMaxHeaderBytes));
        return;
    }
    StoredHeader stored{header_bytes_.size(), name.size(), 0, 0};
    header_bytes_.append(name);
    stored.value_at = header_bytes_.size();
    if (!leading_space_) header_bytes_ += ' ';  // the MTA ate the space after the colon
    // Folded lines arrive separated by LF; on the wire (and in the signature) they are CRLF.
    for (std::size_t i = 0; i < value.size(); ++i) {
        if (value[i] == '\n' && (i == 0 || value[i - 1] != '\r')) header_bytes_ += '\r';
        header_bytes_ += value[i];
    }
    stored.value_size = header_bytes_.size() - stored.value_at;
    headers_.push_back(stored);
}

void MilterSession::pass(std::string reason) {
    state_ = State::Passing;
    reason_ = std::move(reason);
}

void MilterSession::fail(std::string reason) {
    state_ = State::Failing;
    reason_ = std::move(reason);
}

void MilterSession::decide_once() {
    if (state_ == State::Headers || state_ == State::Idle) decide();
}

void MilterSession::body(std::string_view data) {
    decide_once();
    if (state_ == State::Signing) signer_.body(data);
}

void MilterSession::decide() {
    key_set_ = keys_.current();
    if (!key_set_) return fail(fmt::format("no usable DKIM snapshot: {}", keys_.problem()));
    if (!auth_user_.empty()) origin_ = fmt::format("authenticated as {}", auth_user_);
    else if (local_submission_) origin_ = "submitted locally";
    else if (key_set_->internal(client_address_)) origin_ = fmt::format("client {} is internal", client_address_);
    else
        return pass(fmt::format("client {}[{}] is neither authenticated nor in dkim.internalNetworks", client_name_,
                                client_address_));

    const StoredHeader* from = nullptr;
    std::size_t from_count = 0;
    for (const auto& stored : headers_)
        if (is_from(std::string_view(header_bytes_).substr(stored.name_at, stored.name_size))) {
            from = &stored;
            ++from_count;
        }
    if (from_count == 0) return pass("the message has no From header");
    if (from_count > 1) return pass(fmt::format("the message has {} From headers; DKIM signs exactly one", from_count));
    const auto value = std::string_view(header_bytes_).substr(from->value_at, from->value_size);
    auto domain = from_domain(value);
    if (!domain) return pass(fmt::format("cannot parse From:{}: {}", loggable(value), domain.error().message));
    domain_keys_ = key_set_->find(*domain);
    if (!domain_keys_) return pass(fmt::format("From domain {} is not a signing domain", *domain));
    if (!domain_keys_->error.empty()) return fail(domain_keys_->error);
    signing_domain_ = std::move(*domain);
    state_ = State::Signing;
    signer_.begin(key_set_->header_canonicalization, key_set_->body_canonicalization);
}

void MilterSession::end_of_body(std::string& replies) {
    decide_once();
    if (state_ == State::Signing) {
        fields_.clear();
        for (const auto& stored : headers_)
            fields_.push_back({std::string_view(header_bytes_).substr(stored.name_at, stored.name_size),
                               std::string_view(header_bytes_).substr(stored.value_at, stored.value_size)});
        signatures_.clear();
        if (auto signed_ok = signer_.finish(fields_, domain_keys_->signing_order, std::time(nullptr), signatures_);
            !signed_ok) {
            fail(signed_ok.error().message);
        } else {
            for (const auto& signature : signatures_) {
                const auto at = begin_packet(replies, kReplyInsertHeader);
                append_u32(replies, 0);  // at the top, above the fields it signs
                append_string(replies, "DKIM-Signature");
                // The MTA separates folded lines with LF and, without HDR_LEADSPC, adds the space itself.
                for (std::size_t i = leading_space_ ? 0 : 1; i < signature.size(); ++i)
                    if (signature[i] != '\r') replies += signature[i];
                replies += '\0';
                finish_packet(replies, at);
            }
            log_info("{}: signed d={} s={} ({})", queue_id(), signing_domain_, domain_keys_->selectors, origin_);
            finish_packet(replies, begin_packet(replies, kReplyContinue));
        }
    }
    if (state_ == State::Passing) {
        log_info("{}: not signed: {}", queue_id(), reason_);
        finish_packet(replies, begin_packet(replies, kReplyContinue));
    } else if (state_ == State::Failing) {
        if (key_set_ && key_set_->on_error == DkimOnError::Accept) {
            log_error("{}: not signed: {}; passed unsigned (dkim.onError = \"accept\")", queue_id(), reason_);
            finish_packet(replies, begin_packet(replies, kReplyContinue));
        } else {
            log_error("{}: temporary failure: {} (dkim.onError = \"tempfail\": the sender retries)", queue_id(), reason_);
            finish_packet(replies, begin_packet(replies, kReplyTempfail));
        }
    }
    reset_message();
}

void MilterSession::reset_message() {
    state_ = State::Idle;
    auth_user_.clear();
    queue_id_.clear();
    header_bytes_.clear();
    headers_.clear();
    key_set_.reset();
    domain_keys_ = nullptr;
    signing_domain_.clear();
    origin_.clear();
    reason_.clear();
}

}  // namespace snm::milter
