// Body and header canonicalization (RFC 6376 §3.4), including the RFC's own
// examples, and that chunking the body anywhere gives the same bytes.
#include <gtest/gtest.h>

#include "canonicalization.hpp"

using snm::Canonicalization;
using namespace snm::milter;

namespace {

class StringSink final : public ByteSink {
public:
    void write(std::string_view bytes) override { out.append(bytes); }
    std::string out;
};

std::string body(Canonicalization mode, std::string_view input, std::size_t chunk = 0) {
    BodyCanonicalizer canonicalizer;
    canonicalizer.reset(mode);
    StringSink sink;
    if (chunk == 0) chunk = input.size() + 1;
    for (std::size_t at = 0; at < input.size(); at += chunk) canonicalizer.update(input.substr(at, chunk), sink);
    canonicalizer.finish(sink);
    return sink.out;
}

std::string header(Canonicalization mode, std::string_view name, std::string_view value) {
    std::string out;
    canonicalize_header(mode, name, value, out);
    return out;
}

}  // namespace

TEST(BodyCanonicalization, Rfc6376Section3_4_5Example) {
    const std::string input = " C \r\nD \t E\r\n\r\n\r\n";
    EXPECT_EQ(body(Canonicalization::Relaxed, input), " C\r\nD E\r\n");
    EXPECT_EQ(body(Canonicalization::Simple, input), " C \r\nD \t E\r\n");
}

TEST(BodyCanonicalization, EmptyBodyIsCrlfForSimpleAndEmptyForRelaxed) {
    EXPECT_EQ(body(Canonicalization::Simple, ""), "\r\n");
    EXPECT_EQ(body(Canonicalization::Relaxed, ""), "");
    EXPECT_EQ(body(Canonicalization::Simple, "\r\n\r\n"), "\r\n");
    EXPECT_EQ(body(Canonicalization::Relaxed, "\r\n \t\r\n"), "");
}

TEST(BodyCanonicalization, MissingFinalCrlfIsAdded) {
    EXPECT_EQ(body(Canonicalization::Simple, "abc"), "abc\r\n");
    EXPECT_EQ(body(Canonicalization::Relaxed, "abc  "), "abc\r\n");
}

TEST(BodyCanonicalization, BlankLinesInsideTheBodyAreKept) {
    EXPECT_EQ(body(Canonicalization::Simple, "a\r\n\r\n\r\nb\r\n\r\n"), "a\r\n\r\n\r\nb\r\n");
    EXPECT_EQ(body(Canonicalization::Relaxed, "a\r\n \r\n\t\r\nb\r\n"), "a\r\n\r\n\r\nb\r\n");
}

TEST(BodyCanonicalization, LoneCrAndLfAreOrdinaryCharacters) {
    EXPECT_EQ(body(Canonicalization::Simple, "a\rb\nc\r\n"), "a\rb\nc\r\n");
    EXPECT_EQ(body(Canonicalization::Relaxed, "a \r b\r"), "a \r b\r\r\n");
}

TEST(BodyCanonicalization, ChunkBoundariesDoNotMatter) {
    const std::string input = "Hello  \t world \r\n\r\n  indented\r\n\r\n\rx\r\r\n end  \r\n\r\n \r\n";
    for (auto mode : {Canonicalization::Simple, Canonicalization::Relaxed}) {
        const auto whole = body(mode, input);
        for (std::size_t chunk = 1; chunk <= input.size(); ++chunk) EXPECT_EQ(body(mode, input, chunk), whole) << chunk;
    }
}

TEST(BodyCanonicalization, LargeRunsPassThroughTheBufferIntact) {
    std::string input(3 * BodyCanonicalizer::kOutputBuffer + 17, 'x');
    input += "\r\n";
    EXPECT_EQ(body(Canonicalization::Simple, input, 4096), input);
    EXPECT_EQ(body(Canonicalization::Relaxed, input, 70000), input);
}

TEST(HeaderCanonicalization, Rfc6376Section3_4_5Example) {
    EXPECT_EQ(header(Canonicalization::Relaxed, "A", " X"), "a:X\r\n");
    EXPECT_EQ(header(Canonicalization::Relaxed, "B ", " Y\t\r\n\tZ  "), "b:Y Z\r\n");
    EXPECT_EQ(header(Canonicalization::Simple, "B ", " Y\t\r\n\tZ  "), "B : Y\t\r\n\tZ  \r\n");
}

TEST(HeaderCanonicalization, RelaxedLowercasesNamesOnly) {
    EXPECT_EQ(header(Canonicalization::Relaxed, "Subject", " MiXeD Case "), "subject:MiXeD Case\r\n");
}
