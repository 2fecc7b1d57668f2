#include "security/tls_context.hpp"

#include <gtest/gtest.h>

#include "test_certificates.hpp"
#include "test_server.hpp"

namespace cgihost {
namespace {

using testing::ServerCertificate;
using testing::TempDir;
using testing::TestCertificateAuthority;

class TlsContextTest : public ::testing::Test {
  protected:
    TlsContextTest() : ca_(dir_.path()), first_(ca_.issue("first")), second_(ca_.issue("second")) {}

    void SetUp() override {
        ASSERT_TRUE(ca_.ok());
        ASSERT_FALSE(first_.cert.empty());
        ASSERT_FALSE(second_.cert.empty());
    }

    static std::string error_of(const TlsFiles& files) {
        auto outcome = TlsContext::load(files);
        auto* error = std::get_if<std::string>(&outcome);
        return error != nullptr ? *error : "";
    }

    TempDir dir_;
    TestCertificateAuthority ca_;
    ServerCertificate first_;
    ServerCertificate second_;
};

TEST_F(TlsContextTest, LoadsACertificateChainAndItsKey) {
    auto outcome = TlsContext::load({first_.cert, first_.key, ""});
    ASSERT_TRUE(std::holds_alternative<std::shared_ptr<const TlsContext>>(outcome))
        << std::get<std::string>(outcome);
    SSL_CTX* ctx = std::get<std::shared_ptr<const TlsContext>>(outcome)->get();
    EXPECT_EQ(SSL_CTX_get_min_proto_version(ctx), TLS1_2_VERSION);
    EXPECT_EQ(SSL_CTX_get_max_proto_version(ctx), TLS1_3_VERSION);
    EXPECT_NE(SSL_CTX_get_options(ctx) & SSL_OP_CIPHER_SERVER_PREFERENCE, 0u);
    EXPECT_NE(SSL_CTX_get_session_cache_mode(ctx) & SSL_SESS_CACHE_SERVER, 0);
}

TEST_F(TlsContextTest, NamesTheFileThatIsWrong) {
    EXPECT_NE(error_of({dir_.file("missing.pem"), first_.key, ""}).find("--tls-cert"),
              std::string::npos);
    EXPECT_NE(error_of({first_.cert, dir_.file("missing.key"), ""}).find("--tls-key"),
              std::string::npos);
    // A key of another certificate.
    EXPECT_NE(error_of({first_.cert, second_.key, ""}).find("--tls-key"), std::string::npos);
    // A staple that is not an OCSP response.
    const auto staple = dir_.write_file("staple.der", "not DER at all");
    EXPECT_NE(error_of({first_.cert, first_.key, staple.string()}).find("--tls-ocsp-staple"),
              std::string::npos);
}

// The reload loads the files first (a failure leaves the store alone: the server then refuses
// the whole reload) and swaps the new context in whole.
TEST_F(TlsContextTest, TheStoreSwapsInOnlyAContextThatLoaded) {
    const std::string cert = dir_.file("live.pem");
    const std::string key = dir_.file("live.key");
    std::filesystem::copy_file(first_.cert, cert);
    std::filesystem::copy_file(first_.key, key);
    auto initial = std::get<std::shared_ptr<const TlsContext>>(TlsContext::load({cert, key, ""}));
    TlsContextStore store(initial);
    EXPECT_EQ(store.current(), initial);

    dir_.write_file("live.pem", "garbage");
    EXPECT_TRUE(std::holds_alternative<std::string>(TlsContext::load({cert, key, ""})));
    EXPECT_EQ(store.current(), initial);  // the old one stays

    std::filesystem::copy_file(second_.cert, cert,
                               std::filesystem::copy_options::overwrite_existing);
    std::filesystem::copy_file(second_.key, key, std::filesystem::copy_options::overwrite_existing);
    auto second = TlsContext::load({cert, key, ""});
    ASSERT_TRUE(std::holds_alternative<std::shared_ptr<const TlsContext>>(second));
    store.replace(std::get<std::shared_ptr<const TlsContext>>(second));
    EXPECT_NE(store.current(), initial);
}

}  // namespace
}  // namespace cgihost
