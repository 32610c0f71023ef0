// address.cpp — see address.hpp.
#include "address.hpp"

#include <algorithm>

#include "ascii.hpp"

namespace snm {

namespace {

bool is_ascii_alnum(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

// RFC 5322 atext, the characters of a dot-atom besides '.'.
bool is_atext(char c) {
    if (is_ascii_alnum(c)) return true;
    constexpr std::string_view specials = "!#$%&'*+-/=?^_`{|}~";
    return specials.find(c) != std::string_view::npos;
}

}  // namespace

std::optional<AddressParts> split_address(std::string_view address) {
    const auto at = address.rfind('@');
    if (at == std::string_view::npos || at == 0 || at + 1 == address.size()) return std::nullopt;
    return AddressParts{address.substr(0, at), address.substr(at + 1)};
}

std::string_view domain_of(std::string_view address) {
    const auto at = address.rfind('@');
    if (at == std::string_view::npos) return {};
    return address.substr(at + 1);
}

void lower_in_place(std::string& text) {
    std::transform(text.begin(), text.end(), text.begin(), ascii_lower);
}

std::string to_lower(std::string_view text) {
    std::string lowered(text);
    lower_in_place(lowered);
    return lowered;
}

bool is_valid_domain(std::string_view domain) {
    if (domain.empty() || domain.size() > 253) return false;
    std::size_t labels = 0;
    std::size_t start = 0;
    while (start <= domain.size()) {
        auto end = domain.find('.', start);
        if (end == std::string_view::npos) end = domain.size();
        const auto label = domain.substr(start, end - start);
        if (label.empty() || label.size() > 63) return false;
        if (label.front() == '-' || label.back() == '-') return false;
        for (char c : label)
            if (!is_ascii_alnum(c) && c != '-') return false;
        ++labels;
        start = end + 1;
    }
    return labels >= 2;
}

bool is_valid_local_part(std::string_view local) {
    if (local.empty() || local.size() > 64) return false;
    if (local.front() == '.' || local.back() == '.') return false;
    char previous = 0;
    for (char c : local) {
        if (c == '.' && previous == '.') return false;
        if (c != '.' && !is_atext(c)) return false;
        previous = c;
    }
    return true;
}

bool is_valid_address(std::string_view address) {
    const auto parts = split_address(address);
    return parts && is_valid_local_part(parts->local) && is_valid_domain(parts->domain);
}

std::optional<DelimitedAddress> strip_extension(std::string_view address,
                                                std::string_view delimiters) {
    if (delimiters.empty()) return std::nullopt;
    const auto parts = split_address(address);
    if (!parts) return std::nullopt;
    const auto cut = parts->local.find_first_of(delimiters);
    // A local part that starts with the delimiter ("+foo@d") has no base.
    if (cut == std::string_view::npos || cut == 0) return std::nullopt;
    DelimitedAddress result;
    result.base.reserve(address.size());
    result.base.append(parts->local.substr(0, cut)).append("@").append(parts->domain);
    result.extension = std::string(parts->local.substr(cut));
    return result;
}

}  // namespace snm
