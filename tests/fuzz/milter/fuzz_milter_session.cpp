// Fuzz target: the milter session fed arbitrary packets, framed as the
// server frames them (4-byte length, command, data). Whatever arrives, the
// session must answer with well-formed packets or ask to close — never
// crash, hang or leak. Keys come from a snapshot that does not exist, so
// signing paths end in the tempfail answer.
#include <cstddef>
#include <cstdint>
#include <string>

#include "log.hpp"
#include "milter_protocol.hpp"
#include "milter_session.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    static const bool logging = [] {
        snm::log_open("fuzz", snm::LogTarget::Syslog);
        return true;
    }();
    (void)logging;
    static snm::milter::KeyStore keys("/nonexistent/snm-fuzz/dkim.cdb");
    snm::milter::MilterSession session(keys);
    std::string replies;
    std::size_t at = 0;
    while (size - at >= 5) {
        // A 2-byte length keeps packets small enough for the fuzzer to explore.
        const std::size_t length = 1 + ((std::size_t{data[at]} << 8 | data[at + 1]) % 4096);
        at += 2;
        if (size - at < length) break;
        const char command = static_cast<char>(data[at]);
        const std::string_view payload(reinterpret_cast<const char*>(data + at + 1), length - 1);
        at += length;
        if (session.handle(command, payload, replies) == snm::milter::MilterSession::Next::Close) break;
    }
    for (std::size_t r = 0; r < replies.size();) {
        if (replies.size() - r < 5) __builtin_trap();
        const auto n = snm::milter::proto::read_u32(replies.data() + r);
        if (n == 0 || replies.size() - r - 4 < n) __builtin_trap();
        r += 4 + n;
    }
    return 0;
}
