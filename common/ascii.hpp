// ascii.hpp — ASCII case folding, the one kind mail protocols use (header
// field names, DNS names, local parts as snm keys them, HTTP field names):
// never the locale's, which would fold bytes of UTF-8 addresses.
#pragma once

#include <cstddef>
#include <string_view>

namespace snm {

constexpr char ascii_lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

// ASCII case-insensitive equality.
constexpr bool ascii_iequals(std::string_view a, std::string_view b) {
    if (a.size() != b.size()) return false;
    for (std::size_t i = 0; i < a.size(); ++i)
        if (ascii_lower(a[i]) != ascii_lower(b[i])) return false;
    return true;
}

}  // namespace snm
