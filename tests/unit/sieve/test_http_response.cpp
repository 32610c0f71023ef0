// Unit tests of the HTTP reply parser used by the rspamd controller client.
#include <gtest/gtest.h>

#include <string>

#include "http_response.hpp"

using snm::sieve::kMaxHttpHeaderBytes;
using snm::sieve::parse_http_response;

TEST(HttpResponse, CompleteReplyWithContentLength) {
    auto parsed = parse_http_response("HTTP/1.1 200 OK\r\nContent-Length: 16\r\n\r\n{\"success\":true}", false);
    ASSERT_TRUE(parsed.ok()) << parsed.error().message;
    ASSERT_TRUE(parsed->has_value());
    EXPECT_EQ((*parsed)->status, 200);
    EXPECT_EQ((*parsed)->reason, "OK");
    EXPECT_EQ((*parsed)->body, "{\"success\":true}");
}

TEST(HttpResponse, HeaderNamesAreCaseInsensitiveAndValuesTrimmed) {
    auto parsed = parse_http_response("HTTP/1.0 208 Already Reported\r\ncontent-LENGTH:   2 \r\n\r\n{}", false);
    ASSERT_TRUE(parsed.ok()) << parsed.error().message;
    ASSERT_TRUE(parsed->has_value());
    EXPECT_EQ((*parsed)->status, 208);
    EXPECT_EQ((*parsed)->body, "{}");
}

TEST(HttpResponse, AsksForMoreUntilTheHeadersEnd) {
    auto parsed = parse_http_response("HTTP/1.1 200 OK\r\nContent-Le", false);
    ASSERT_TRUE(parsed.ok());
    EXPECT_FALSE(parsed->has_value());
}

TEST(HttpResponse, AsksForMoreUntilTheBodyIsComplete) {
    auto parsed = parse_http_response("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n12345", false);
    ASSERT_TRUE(parsed.ok());
    EXPECT_FALSE(parsed->has_value());
}

TEST(HttpResponse, BodyWithoutLengthEndsAtEof) {
    const std::string reply = "HTTP/1.1 500 Internal error\r\nServer: x\r\n\r\n{\"error\":\"boom\"}";
    auto partial = parse_http_response(reply, false);
    ASSERT_TRUE(partial.ok());
    EXPECT_FALSE(partial->has_value());
    auto complete = parse_http_response(reply, true);
    ASSERT_TRUE(complete.ok());
    ASSERT_TRUE(complete->has_value());
    EXPECT_EQ((*complete)->status, 500);
    EXPECT_EQ((*complete)->body, "{\"error\":\"boom\"}");
}

TEST(HttpResponse, NoContentNeedsNoBody) {
    auto parsed = parse_http_response("HTTP/1.1 204 No Content\r\n\r\n", false);
    ASSERT_TRUE(parsed.ok());
    ASSERT_TRUE(parsed->has_value());
    EXPECT_EQ((*parsed)->status, 204);
    EXPECT_EQ((*parsed)->body, "");
}

TEST(HttpResponse, StatusLineWithoutReason) {
    auto parsed = parse_http_response("HTTP/1.1 404\r\nContent-Length: 0\r\n\r\n", false);
    ASSERT_TRUE(parsed.ok()) << parsed.error().message;
    ASSERT_TRUE(parsed->has_value());
    EXPECT_EQ((*parsed)->status, 404);
    EXPECT_EQ((*parsed)->reason, "");
}

TEST(HttpResponse, ExtraBytesAfterTheBodyAreIgnored) {
    auto parsed = parse_http_response("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nokGARBAGE", false);
    ASSERT_TRUE(parsed.ok());
    ASSERT_TRUE(parsed->has_value());
    EXPECT_EQ((*parsed)->body, "ok");
}

TEST(HttpResponse, RejectsMalformedStatusLines) {
    for (const char* reply : {"SMTP/1.1 200 OK\r\n\r\n", "HTTP/1.1 2x0 OK\r\n\r\n", "HTTP/1.1 099 Low\r\n\r\n",
                              "HTTP/1.1 200OK\r\n\r\n", "HTTP/2 200 OK\r\n\r\n", "\r\n\r\n"}) {
        auto parsed = parse_http_response(reply, false);
        EXPECT_FALSE(parsed.ok()) << reply;
    }
}

TEST(HttpResponse, RejectsMalformedHeaders) {
    for (const char* reply : {"HTTP/1.1 200 OK\r\nNoColon\r\n\r\n", "HTTP/1.1 200 OK\r\n: empty name\r\n\r\n",
                              "HTTP/1.1 200 OK\r\nBad Name: x\r\n\r\n",
                              "HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n",
                              "HTTP/1.1 200 OK\r\nContent-Length: 12abc\r\n\r\n",
                              "HTTP/1.1 200 OK\r\nContent-Length: 99999999999999999999999\r\n\r\n",
                              "HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab"}) {
        auto parsed = parse_http_response(reply, false);
        EXPECT_FALSE(parsed.ok()) << reply;
    }
}

TEST(HttpResponse, RefusesChunkedTransferCoding) {
    auto parsed = parse_http_response("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n", false);
    ASSERT_FALSE(parsed.ok());
    EXPECT_NE(parsed.error().message.find("chunked"), std::string::npos);
}

TEST(HttpResponse, TruncatedBodyAtEofIsAnError) {
    auto parsed = parse_http_response("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n12345", true);
    ASSERT_FALSE(parsed.ok());
    EXPECT_NE(parsed.error().message.find("truncated"), std::string::npos);
}

TEST(HttpResponse, EofBeforeTheHeadersEndIsAnError) {
    EXPECT_FALSE(parse_http_response("", true).ok());
    EXPECT_FALSE(parse_http_response("HTTP/1.1 200 OK\r\n", true).ok());
}

TEST(HttpResponse, HeadersLargerThanTheLimitAreRefused) {
    std::string reply = "HTTP/1.1 200 OK\r\nX-Filler: " + std::string(kMaxHttpHeaderBytes, 'a');
    auto unfinished = parse_http_response(reply, false);
    ASSERT_FALSE(unfinished.ok());
    reply += "\r\n\r\n";
    EXPECT_FALSE(parse_http_response(reply, false).ok());
}
