// Fuzz target: the parser of rspamd controller replies (sieve/http_response.hpp)
// and their interpretation (interpret_learn_reply). The input is what a peer
// on the controller socket could send. Every prefix is parsed as the client
// does while bytes arrive; a complete reply must stay complete as more bytes
// arrive, and a body must never exceed what was received.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "controller_client.hpp"
#include "http_response.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view input(reinterpret_cast<const char*>(data), size);
    for (const bool at_eof : {false, true}) {
        auto parsed = snm::sieve::parse_http_response(input, at_eof);
        if (!parsed || !*parsed) continue;
        const auto& reply = **parsed;
        if (reply.body.size() > input.size() || reply.status < 100 || reply.status > 999) __builtin_trap();
        (void)snm::sieve::interpret_learn_reply(reply);
        if (!at_eof) {
            auto again = snm::sieve::parse_http_response(input, true);
            if (!again || !*again || (*again)->body != reply.body) __builtin_trap();
        }
    }
    return 0;
}
