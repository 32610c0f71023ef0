// Fuzz target: the From parser. Any input gives a domain or an error; a
// domain is always lower case, non-empty and free of syntax characters.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "from_address.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view value(reinterpret_cast<const char*>(data), size);
    auto domain = snm::milter::from_domain(value);
    if (!domain) return 0;
    if (domain->empty()) __builtin_trap();
    for (char c : *domain)
        if ((c >= 'A' && c <= 'Z') || c == '@' || c == '<' || c == '>' || c == ' ' || c == '"') __builtin_trap();
    return 0;
}
