// http_response.cpp — see http_response.hpp.
#include "http_response.hpp"

#include "http_message.hpp"

#include <fmt/format.h>

#include <algorithm>

namespace snm::sieve {

namespace {

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

bool status_has_no_body(int status) { return status < 200 || status == 204 || status == 304; }

}  // namespace

Result<std::optional<HttpResponse>> parse_http_response(std::string_view received, bool at_eof) {
    auto head = parse_http_head(received, kMaxHttpHeaderBytes);
    if (!head) return head.error();
    if (!*head) {
        if (at_eof)
            return Error{received.empty() ? std::string("connection closed without a reply")
                                          : std::string("connection closed in the middle of the reply headers")};
        return std::optional<HttpResponse>{};
    }
    HttpResponse response;
    if (auto parsed = parse_status_line((*head)->start_line, response); !parsed) return parsed.error();

    const auto body = received.substr((*head)->size);
    if (const auto length = (*head)->content_length) {
        if (body.size() < *length) {
            if (at_eof) return Error{fmt::format("reply body truncated: {} of {} bytes", body.size(), *length)};
            return std::optional<HttpResponse>{};
        }
        response.body = std::string(body.substr(0, *length));
    } else if (!status_has_no_body(response.status)) {
        if (!at_eof) return std::optional<HttpResponse>{};
        response.body = std::string(body);
    }
    return std::optional<HttpResponse>{std::move(response)};
}

}  // namespace snm::sieve
