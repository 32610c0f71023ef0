// MessageSigner: the signature fields it produces, checked with OpenSSL
// directly against hashes this test computes from hand-written canonical
// forms (not with the signer's own canonicalization).
#include <openssl/evp.h>
#include <openssl/rsa.h>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "key_fixture.hpp"
#include "signer.hpp"

using namespace snm;
using namespace snm::milter;
using ::testing::HasSubstr;
using snm::milter::testing::KeyDirectory;

namespace {

std::string sha256(std::string_view data) {
    unsigned char digest[32];
    unsigned size = 0;
    EVP_Digest(data.data(), data.size(), digest, &size, EVP_sha256(), nullptr);
    return std::string(reinterpret_cast<char*>(digest), size);
}

std::string base64_decode(std::string text) {
    std::erase_if(text, [](char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; });
    std::string out(text.size(), '\0');
    int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                            reinterpret_cast<const unsigned char*>(text.data()), static_cast<int>(text.size()));
    while (!text.empty() && text.back() == '=') {
        text.pop_back();
        --n;
    }
    out.resize(static_cast<std::size_t>(n));
    return out;
}

std::string tag(const std::string& field, const std::string& name) {
    std::string flat;
    for (char c : field)
        if (c != '\r' && c != '\n' && c != '\t' && c != ' ') flat += c;
    const auto at = flat.find(";" + name + "=");
    const auto start = at == std::string::npos ? flat.find(name + "=") : at + 1;
    const auto end = flat.find(';', start);
    return flat.substr(start + name.size() + 1, end == std::string::npos ? std::string::npos : end - start - name.size() - 1);
}

bool verify(EVP_PKEY* key, DkimAlgorithm algorithm, const std::string& digest, const std::string& signature) {
    const auto* sig = reinterpret_cast<const unsigned char*>(signature.data());
    const auto* dig = reinterpret_cast<const unsigned char*>(digest.data());
    if (algorithm == DkimAlgorithm::Rsa) {
        EVP_PKEY_CTX* ctx = EVP_PKEY_CTX_new(key, nullptr);
        const bool ok = EVP_PKEY_verify_init(ctx) > 0 && EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_PADDING) > 0 &&
                        EVP_PKEY_CTX_set_signature_md(ctx, EVP_sha256()) > 0 &&
                        EVP_PKEY_verify(ctx, sig, signature.size(), dig, digest.size()) == 1;
        EVP_PKEY_CTX_free(ctx);
        return ok;
    }
    EVP_MD_CTX* ctx = EVP_MD_CTX_new();
    const bool ok = EVP_DigestVerifyInit(ctx, nullptr, nullptr, nullptr, key) > 0 &&
                    EVP_DigestVerify(ctx, sig, signature.size(), dig, digest.size()) == 1;
    EVP_MD_CTX_free(ctx);
    return ok;
}

}  // namespace

TEST(Signer, RelaxedSignaturesVerifyAgainstHandCanonicalizedMessage) {
    KeyDirectory keys;
    keys.apply();
    std::vector<SigningKey> signing;
    for (auto [selector, algorithm] : {std::pair{"rsa", DkimAlgorithm::Rsa}, std::pair{"ed", DkimAlgorithm::Ed25519}}) {
        auto loaded = load_dkim_key(keys.key("example.com", selector), algorithm);
        ASSERT_TRUE(loaded) << loaded.error().message;
        signing.push_back({"example.com", selector, algorithm, std::move(loaded->key)});
    }
    const std::vector<const SigningKey*> order = {&signing[0], &signing[1]};
    const std::vector<HeaderField> headers = {
        {"Received", " from x by y"}, {"From", " A  User <a@example.com>"}, {"To", " b@example.org"},
        {"Subject", " Hello\r\n\tWorld  "}, {"X-Not-Signed", " 1"}};
    MessageSigner signer;
    signer.begin(Canonicalization::Relaxed, Canonicalization::Relaxed);
    signer.body("Hi  there \r\n");
    signer.body("\r\n\r\n");
    std::vector<std::string> fields;
    ASSERT_TRUE(signer.finish(headers, order, 1700000000, fields));
    ASSERT_EQ(fields.size(), 2u);

    const std::string body_hash = sha256("Hi there\r\n");
    const std::string canonical_headers = "from:A User <a@example.com>\r\nto:b@example.org\r\nsubject:Hello World\r\n";
    for (std::size_t i = 0; i < 2; ++i) {
        const auto& field = fields[i];
        EXPECT_EQ(base64_decode(tag(field, "bh")), body_hash);
        EXPECT_EQ(tag(field, "h"),
                  "from:from:to:to:cc:subject:subject:date:message-id:reply-to:in-reply-to:references:mime-version:"
                  "content-type:content-transfer-encoding");
        EXPECT_EQ(tag(field, "t"), "1700000000");
        EXPECT_EQ(tag(field, "c"), "relaxed/relaxed");
        EXPECT_EQ(tag(field, "d"), "example.com");
        EXPECT_THAT(field, ::testing::Not(HasSubstr("l=")));
        // The field itself, relaxed, with b= emptied and no final CRLF.
        std::string without_b = field.substr(0, field.rfind("b=") + 2);
        std::string relaxed = "dkim-signature:";
        bool space = false, started = false;
        for (char c : without_b) {
            if (c == '\r' || c == '\n') continue;
            if (c == ' ' || c == '\t') { space = true; continue; }
            if (space && started) relaxed += ' ';
            space = false;
            started = true;
            relaxed += c;
        }
        const auto digest = sha256(canonical_headers + relaxed);
        EXPECT_TRUE(verify(signing[i].key.get(), signing[i].algorithm, digest, base64_decode(tag(field, "b"))))
            << field;
    }
    EXPECT_EQ(tag(fields[0], "a"), "rsa-sha256");
    EXPECT_EQ(tag(fields[1], "a"), "ed25519-sha256");
}

TEST(Signer, FieldLinesStayShort) {
    KeyDirectory keys;
    keys.apply();
    auto loaded = load_dkim_key(keys.key("example.com", "rsa"), DkimAlgorithm::Rsa);
    ASSERT_TRUE(loaded);
    SigningKey key{"example.com", "rsa", DkimAlgorithm::Rsa, std::move(loaded->key)};
    const SigningKey* order[] = {&key};
    std::vector<HeaderField> headers = {{"From", " a@example.com"}};
    for (auto name : kSignedWhenPresent) headers.push_back({name, " x"});
    MessageSigner signer;
    signer.begin(Canonicalization::Simple, Canonicalization::Simple);
    std::vector<std::string> fields;
    ASSERT_TRUE(signer.finish(headers, order, 1700000000, fields));
    std::size_t start = 0;
    while (start < fields[0].size()) {
        auto end = fields[0].find("\r\n", start);
        if (end == std::string::npos) end = fields[0].size();
        EXPECT_LE(end - start, 80u) << fields[0].substr(start, end - start);
        start = end + 2;
    }
}
