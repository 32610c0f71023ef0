// http_message.cpp — see http_message.hpp.
#include "http_message.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <charconv>

#include "ascii.hpp"

namespace snm {

namespace {

constexpr std::string_view kHeaderEnd = "\r\n\r\n";
constexpr std::string_view kLineEnd = "\r\n";

std::string_view trim(std::string_view text) {
    while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
    while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) text.remove_suffix(1);
    return text;
}

bool is_token_char(char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

Status parse_field_line(std::string_view line, HttpHead& head) {
    const auto colon = line.find(':');
    if (colon == 0 || colon == std::string_view::npos)
        return Error{fmt::format("malformed HTTP header line `{}`", line.substr(0, 80))};
    const auto name = line.substr(0, colon);
    if (!std::all_of(name.begin(), name.end(), is_token_char))
        return Error{fmt::format("malformed HTTP header name `{}`", name.substr(0, 80))};
    const auto value = trim(line.substr(colon + 1));
    if (ascii_iequals(name, "Content-Length")) {
        std::size_t length = 0;
        const auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), length);
        if (value.empty() || ec != std::errc{} || end != value.data() + value.size())
            return Error{fmt::format("bad Content-Length `{}`", value.substr(0, 40))};
        if (head.content_length && *head.content_length != length) return Error{"conflicting Content-Length headers"};
        head.content_length = length;
    } else if (ascii_iequals(name, "Transfer-Encoding") && !ascii_iequals(value, "identity")) {
        return Error{fmt::format("unsupported Transfer-Encoding `{}`", value.substr(0, 40))};
    }
    head.fields.emplace_back(name, value);
    return success();
}

}  // namespace

std::optional<std::string_view> HttpHead::field(std::string_view name) const {
    for (const auto& [field_name, value] : fields)
        if (ascii_iequals(field_name, name)) return value;
    return std::nullopt;
}

Result<std::optional<HttpHead>> parse_http_head(std::string_view received, std::size_t max_header_bytes) {
    const auto header_end = received.find(kHeaderEnd);
    if (header_end == std::string_view::npos || header_end + kHeaderEnd.size() > max_header_bytes) {
        if (received.size() > max_header_bytes || header_end != std::string_view::npos)
            return Error{fmt::format("HTTP headers exceed {} bytes", max_header_bytes)};
        return std::optional<HttpHead>{};
    }
    HttpHead head;
    head.size = header_end + kHeaderEnd.size();
    auto rest = received.substr(0, header_end);
    const auto first_end = rest.find(kLineEnd);
    head.start_line = rest.substr(0, first_end);
    rest = first_end == std::string_view::npos ? std::string_view{} : rest.substr(first_end + kLineEnd.size());
    while (!rest.empty()) {
        const auto eol = rest.find(kLineEnd);
        if (auto parsed = parse_field_line(rest.substr(0, eol), head); !parsed) return parsed.error();
        rest = eol == std::string_view::npos ? std::string_view{} : rest.substr(eol + kLineEnd.size());
    }
    return std::optional<HttpHead>{std::move(head)};
}

}  // namespace snm
