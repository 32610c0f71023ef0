// http_response.cpp — see http_response.hpp.
#include "http_response.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <charconv>

namespace snm::sieve {

namespace {

constexpr std::string_view kHeaderEnd = "\r\n\r\n";
constexpr std::string_view kLineEnd = "\r\n";

bool iequals(std::string_view a, std::string_view b) {
    return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
               return std::tolower(static_cast<unsigned char>(x)) == std::tolower(static_cast<unsigned char>(y));
           });
}

std::string_view trim(std::string_view text) {
    while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
    while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) text.remove_suffix(1);
    return text;
}

bool is_token_char(char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

// "HTTP/1.1 200 OK" → status and reason.
Status parse_status_line(std::string_view line, HttpResponse& response) {
    const auto malformed = [&] {
        return Error{fmt::format("malformed HTTP status line `{}`", line.substr(0, 80))};
    };
    if (!line.starts_with("HTTP/1.") || line.size() < 12 || line[8] != ' ') return malformed();
    const auto code = line.substr(9, 3);
    if (!std::all_of(code.begin(), code.end(), [](char c) { return c >= '0' && c <= '9'; })) return malformed();
    response.status = (code[0] - '0') * 100 + (code[1] - '0') * 10 + (code[2] - '0');
    if (response.status < 100) return malformed();
    if (line.size() > 12) {
        if (line[12] != ' ') return malformed();
        response.reason = std::string(line.substr(13));
    }
    return success();
}

struct Framing {
    std::optional<std::size_t> content_length;
};

Status parse_header_line(std::string_view line, Framing& framing) {
    const auto colon = line.find(':');
    if (colon == 0 || colon == std::string_view::npos)
        return Error{fmt::format("malformed HTTP header line `{}`", line.substr(0, 80))};
    const auto name = line.substr(0, colon);
    if (!std::all_of(name.begin(), name.end(), is_token_char))
        return Error{fmt::format("malformed HTTP header name `{}`", name.substr(0, 80))};
    const auto value = trim(line.substr(colon + 1));
    if (iequals(name, "Content-Length")) {
        std::size_t length = 0;
        const auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), length);
        if (value.empty() || ec != std::errc{} || end != value.data() + value.size())
            return Error{fmt::format("bad Content-Length `{}`", value.substr(0, 40))};
        if (framing.content_length && *framing.content_length != length)
            return Error{"conflicting Content-Length headers"};
        framing.content_length = length;
    } else if (iequals(name, "Transfer-Encoding") && !iequals(value, "identity")) {
        return Error{fmt::format("unsupported Transfer-Encoding `{}`", value.substr(0, 40))};
    }
    return success();
}

bool status_has_no_body(int status) { return status < 200 || status == 204 || status == 304; }

}  // namespace

Result<std::optional<HttpResponse>> parse_http_response(std::string_view received, bool at_eof) {
    const auto header_end = received.find(kHeaderEnd);
    if (header_end == std::string_view::npos || header_end + kHeaderEnd.size() > kMaxHttpHeaderBytes) {
        if (received.size() > kMaxHttpHeaderBytes || header_end != std::string_view::npos)
            return Error{fmt::format("HTTP reply headers exceed {} bytes", kMaxHttpHeaderBytes)};
        if (at_eof)
            return Error{received.empty() ? std::string("connection closed without a reply")
                                          : std::string("connection closed in the middle of the reply headers")};
        return std::optional<HttpResponse>{};
    }

    HttpResponse response;
    Framing framing;
    auto head = received.substr(0, header_end);
    bool first = true;
    while (!head.empty() || first) {
        const auto eol = head.find(kLineEnd);
        const auto line = head.substr(0, eol);
        head = eol == std::string_view::npos ? std::string_view{} : head.substr(eol + kLineEnd.size());
        auto parsed = first ? parse_status_line(line, response) : parse_header_line(line, framing);
        if (!parsed) return parsed.error();
        first = false;
    }

    const auto body = received.substr(header_end + kHeaderEnd.size());
    if (framing.content_length) {
        if (body.size() < *framing.content_length) {
            if (at_eof)
                return Error{fmt::format("reply body truncated: {} of {} bytes", body.size(), *framing.content_length)};
            return std::optional<HttpResponse>{};
        }
        response.body = std::string(body.substr(0, *framing.content_length));
    } else if (!status_has_no_body(response.status)) {
        if (!at_eof) return std::optional<HttpResponse>{};
        response.body = std::string(body);
    }
    return std::optional<HttpResponse>{std::move(response)};
}

}  // namespace snm::sieve
