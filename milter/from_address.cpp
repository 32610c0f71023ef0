// from_address.cpp — see from_address.hpp.
#include "from_address.hpp"

#include <fmt/format.h>

#include "address.hpp"

namespace snm::milter {

namespace {

// The value with comments removed and quoted strings replaced by a
// placeholder character that cannot be mistaken for syntax ('"' stays as a
// marker so a quoted local part is still "something").
Result<std::string> strip_comments_and_quotes(std::string_view value) {
    std::string out;
    out.reserve(value.size());
    int depth = 0;
    bool quoted = false;
    for (std::size_t i = 0; i < value.size(); ++i) {
        const char c = value[i];
        if (c == '\\' && (quoted || depth > 0)) {  // quoted-pair
            ++i;
            if (quoted) out += 'q';
            continue;
        }
        if (quoted) {
            if (c == '"') quoted = false;
            else out += 'q';
            continue;
        }
        if (depth > 0) {
            if (c == '(') ++depth;
            else if (c == ')') --depth;
            continue;
        }
        if (c == '"') {
            quoted = true;
            out += 'q';
        } else if (c == '(') {
            depth = 1;
            out += ' ';
        } else if (c == ')') {
            return Error{"an unbalanced ')'"};
        } else {
            out += c;
        }
    }
    if (quoted) return Error{"an unterminated quoted string"};
    if (depth > 0) return Error{"an unterminated comment"};
    return out;
}

std::string_view trim(std::string_view s) {
    const auto ws = [](char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; };
    while (!s.empty() && ws(s.front())) s.remove_prefix(1);
    while (!s.empty() && ws(s.back())) s.remove_suffix(1);
    return s;
}

}  // namespace

Result<std::string> from_domain(std::string_view value) {
    if (value.size() > kMaxFromLength) return Error{fmt::format("it is longer than {} bytes", kMaxFromLength)};
    auto plain = strip_comments_and_quotes(value);
    if (!plain) return plain.error();
    std::string_view text = *plain;

    std::string_view addr_spec;
    const auto open = text.find('<');
    if (open != std::string_view::npos) {
        const auto close = text.find('>', open);
        if (close == std::string_view::npos) return Error{"a '<' without '>'"};
        if (text.find('<', open + 1) != std::string_view::npos) return Error{"several mailboxes"};
        if (text.substr(0, open).find_first_of(",:;") != std::string_view::npos ||
            text.substr(close + 1).find_first_of(",:;@<>") != std::string_view::npos)
            return Error{"several mailboxes or a group"};
        if (!trim(text.substr(close + 1)).empty()) return Error{"text after the address"};
        addr_spec = text.substr(open + 1, close - open - 1);
        if (const auto route_end = addr_spec.find(':'); route_end != std::string_view::npos)
            addr_spec = addr_spec.substr(route_end + 1);  // obs-route "@a,@b:"
    } else {
        if (text.find_first_of(",") != std::string_view::npos) return Error{"several mailboxes"};
        if (text.find_first_of(":;") != std::string_view::npos) return Error{"a group, not a mailbox"};
        addr_spec = text;
    }
    addr_spec = trim(addr_spec);
    if (addr_spec.empty()) return Error{"no address"};
    const auto at = addr_spec.rfind('@');
    if (at == std::string_view::npos) return Error{"no '@' in the address"};
    if (trim(addr_spec.substr(0, at)).empty()) return Error{"an empty local part"};
    std::string domain = to_lower(trim(addr_spec.substr(at + 1)));
    if (!domain.empty() && domain.back() == '.') domain.pop_back();
    if (!is_valid_domain(domain)) return Error{fmt::format("the domain `{}` is not a host name", domain)};
    return domain;
}

}  // namespace snm::milter
