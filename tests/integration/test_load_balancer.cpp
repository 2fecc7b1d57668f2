// Behind a load balancer: --trusted-proxies (Forwarded / X-Forwarded-For / X-Forwarded-Proto),
// --proxy-protocol (PROXY v1 and v2 before the first request, or before the TLS handshake on
// a TLS listener), --health-url and
// --shutdown-delay, against the real server and the scriptable test CGI. The parsers have
// their table tests in tests/unit/http/test_forwarded.cpp and test_proxy_protocol.cpp; the
// HAProxy and nginx tests in front of several instances are tests/scale_out/.
#include <arpa/inet.h>
#include <grp.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <string>

#include "cgi_fixture.hpp"
#include "http_client.hpp"
#include "test_certificates.hpp"
#include "test_server.hpp"

namespace cgihost::testing {
namespace {

using namespace std::string_literals;

class LoadBalancer : public CgiTest {
  protected:
    // The environment the test CGI saw for one request sent on `connection`.
    static std::map<std::string, std::string> env_from(HttpConnection& connection,
                                                       const Headers& headers = {}) {
        auto response = connection.request("GET", "/cgi-bin/t?env", headers);
        if (!response || response->status != 200) {
            ADD_FAILURE() << "no 200: " << (response ? std::to_string(response->status) : "none");
            return {};
        }
        return parse_lines(response->body);
    }

    std::map<std::string, std::string> env_via(const std::string& source, const Headers& headers) {
        HttpConnection connection(port(), "127.0.0.1", source);
        return env_from(connection, headers);
    }
};

// ---- --trusted-proxies ---------------------------------------------------------------------

TEST_F(LoadBalancer, ATrustedProxyNamesTheClientAndItsScheme) {
    start({"--trusted-proxies", "127.0.0.1"});
    auto env = env_via("127.0.0.1", {{"X-Forwarded-For", "203.0.113.1, 198.51.100.7"},
                                     {"X-Forwarded-Proto", "https"}});
    EXPECT_EQ(env["REMOTE_ADDR"], "198.51.100.7");
    EXPECT_EQ(env["REQUEST_SCHEME"], "https");
    EXPECT_EQ(env["HTTPS"], "on");
    env = env_via("127.0.0.1", {{"Forwarded", "for=\"[2001:db8::7]:4711\";proto=http"}});
    EXPECT_EQ(env["REMOTE_ADDR"], "2001:db8::7");
    EXPECT_EQ(env["REMOTE_PORT"], "4711");
    EXPECT_EQ(env["REQUEST_SCHEME"], "http");
    EXPECT_NE(server_->access_log().find("198.51.100.7 "), std::string::npos)
        << server_->access_log();
}

TEST_F(LoadBalancer, AnUntrustedPeerIsItsOwnClientWhateverItSays) {
    start({"--trusted-proxies", "127.0.0.1"});
    auto env =
        env_via("127.0.0.9", {{"X-Forwarded-For", "198.51.100.7"}, {"X-Forwarded-Proto", "https"}});
    EXPECT_EQ(env["REMOTE_ADDR"], "127.0.0.9");
    EXPECT_EQ(env["REQUEST_SCHEME"], "http");
    EXPECT_EQ(env.count("HTTPS"), 0u);
}

TEST_F(LoadBalancer, AMalformedHeaderKeepsThePeerAndIsNoError) {
    start({"--trusted-proxies", "127.0.0.1", "--log-level", "debug"});
    auto env = env_via("127.0.0.1", {{"X-Forwarded-For", "198.51.100.7, not-an-address"}});
    EXPECT_EQ(env["REMOTE_ADDR"], "127.0.0.1");
    EXPECT_TRUE(error_log_contains("not-an-address"));
}

TEST_F(LoadBalancer, TheAccessRulesSeeTheForwardedClient) {
    start({"--trusted-proxies", "127.0.0.1", "--allow", "/cgi-bin=198.51.100.0/24"});
    HttpConnection allowed(port(), "127.0.0.1", "127.0.0.1");
    auto response = allowed.request("GET", "/cgi-bin/t?env", {{"X-Forwarded-For", "198.51.100.7"}});
    ASSERT_TRUE(response);
    EXPECT_EQ(response->status, 200);
    HttpConnection refused(port(), "127.0.0.1", "127.0.0.1");
    // Refused before its body, from the head alone: the intake sees the forwarded client too.
    response = refused.request("POST", "/cgi-bin/t?env", {{"X-Forwarded-For", "203.0.113.1"}},
                               std::string(1000, 'x'));
    ASSERT_TRUE(response);
    EXPECT_EQ(response->status, 403);
}

// Behind one proxy, every client would share its address's script cap: the cap must count
// the clients the proxy names. A script holds the only slot of 198.51.100.1 until closed.
TEST_F(LoadBalancer, ThePerClientScriptCapCountsForwardedClientsApart) {
    start({"--trusted-proxies", "127.0.0.1", "--cgi-max-per-client", "1", "--cgi-queue", "0",
           "--cgi-kill-grace", "0.5"});
    auto via_proxy = [&](const std::string& target, const std::string& client) {
        auto connection = std::make_unique<HttpConnection>(port());
        connection->send_raw("GET " + target +
                             " HTTP/1.1\r\nHost: x\r\nX-Forwarded-For: " + client + "\r\n\r\n");
        return connection;
    };
    auto held = via_proxy("/cgi-bin/t?body=held&sleep=60", "198.51.100.1");
    std::string received;
    ASSERT_TRUE(read_until(
        held->fd(), received,
        [](const std::string& r) { return r.find("held") != std::string::npos; }, 10000ms))
        << received;
    auto same = via_proxy("/cgi-bin/t?body=same", "198.51.100.1");
    auto refused = same->read_response();
    ASSERT_TRUE(refused);
    EXPECT_EQ(refused->status, 503);
    auto other = via_proxy("/cgi-bin/t?body=other", "198.51.100.2");
    auto answered = other->read_response();
    ASSERT_TRUE(answered);
    EXPECT_EQ(answered->status, 200);
    EXPECT_EQ(answered->body, "other");
    held->close();
}

// ---- --proxy-protocol ----------------------------------------------------------------------

const std::string kGetEnv = "GET /cgi-bin/t?env HTTP/1.1\r\nHost: x\r\n\r\n";

std::string v2_tcp4(const std::string& source, uint16_t port) {
    std::string header = "\r\n\r\n\0\r\nQUIT\n\x21\x11\x00\x0c"s;
    in_addr address{};
    inet_pton(AF_INET, source.c_str(), &address);
    header.append(reinterpret_cast<const char*>(&address), 4);
    header.append("\x7f\x00\x00\x01", 4);
    header += static_cast<char>(port >> 8);
    header += static_cast<char>(port & 0xff);
    header += "\x00\x50"s;
    return header;
}

TEST_F(LoadBalancer, AProxyV1HeaderNamesTheClient) {
    start({"--proxy-protocol", "true"});
    HttpConnection connection(port());
    connection.send_raw("PROXY TCP4 192.0.2.7 127.0.0.1 5555 80\r\n" + kGetEnv);
    auto response = connection.read_response();
    ASSERT_TRUE(response);
    ASSERT_EQ(response->status, 200);
    auto env = parse_lines(response->body);
    EXPECT_EQ(env["REMOTE_ADDR"], "192.0.2.7");
    EXPECT_EQ(env["REMOTE_PORT"], "5555");
    // The next request on the connection has no header of its own, and the same client.
    EXPECT_EQ(env_from(connection)["REMOTE_ADDR"], "192.0.2.7");
}

TEST_F(LoadBalancer, AProxyV2HeaderMayArriveInPieces) {
    start({"--proxy-protocol", "true"});
    HttpConnection connection(port());
    const std::string header = v2_tcp4("198.51.100.4", 40000);
    connection.send_raw(header.substr(0, 7));
    std::this_thread::sleep_for(50ms);  // two segments, so the intake sees a part first
    connection.send_raw(header.substr(7) + kGetEnv);
    auto response = connection.read_response();
    ASSERT_TRUE(response);
    ASSERT_EQ(response->status, 200);
    EXPECT_EQ(parse_lines(response->body)["REMOTE_ADDR"], "198.51.100.4");
}

TEST_F(LoadBalancer, AV2LocalHeaderKeepsTheSocketAddress) {
    start({"--proxy-protocol", "true", "--health-url", "/healthz"});
    HttpConnection connection(port(), "127.0.0.1", "127.0.0.3");
    connection.send_raw("\r\n\r\n\0\r\nQUIT\n\x20\x00\x00\x00"s + kGetEnv);
    auto response = connection.read_response();
    ASSERT_TRUE(response);
    EXPECT_EQ(parse_lines(response->body)["REMOTE_ADDR"], "127.0.0.3");
}

TEST_F(LoadBalancer, ConnectionsWithoutAValidProxyHeaderAreClosedAndLoggedOnce) {
    start({"--proxy-protocol", "true"});
    for (const std::string& bytes : {kGetEnv, "PROXY TCP4 nonsense\r\n"s + kGetEnv,
                                     "PROXY TCP4 192.0.2.7 127.0.0.1 5555 80\n"s}) {
        bool closed = false;
        // Nothing is answered: whatever sent this is not our balancer.
        EXPECT_EQ(exchange_raw(bytes, kHangGuard, &closed), "");
        EXPECT_TRUE(closed);
    }
    ASSERT_TRUE(error_log_contains("without a valid PROXY header"));
    const std::string log = server_->error_log();
    EXPECT_EQ(log.find("without a valid PROXY header"), log.rfind("without a valid PROXY header"))
        << "reported once per period, not per connection:\n"
        << log;
    EXPECT_EQ(server_->access_log().find("GET"), std::string::npos);
}

TEST_F(LoadBalancer, AClientThatSendsNoProxyHeaderIsClosedAtTheHeaderTimeout) {
    start({"--proxy-protocol", "true", "--header-timeout", "1"});
    bool closed = false;
    EXPECT_EQ(exchange_raw("PROX", kHangGuard, &closed), "");  // no 408 to a balancer
    EXPECT_TRUE(closed);
    EXPECT_TRUE(error_log_contains("sent no PROXY header within --header-timeout"));
}

TEST_F(LoadBalancer, TheProxySourceIsThePeerForTrustedProxies) {
    start({"--proxy-protocol", "true", "--trusted-proxies", "10.0.0.0/8"});
    for (auto [source, expected] :
         {std::pair{"10.1.1.1", "198.51.100.9"}, std::pair{"192.0.2.7", "192.0.2.7"}}) {
        HttpConnection connection(port());
        connection.send_raw("PROXY TCP4 "s + source +
                            " 127.0.0.1 5555 80\r\nGET /cgi-bin/t?env HTTP/1.1\r\nHost: x\r\n"
                            "X-Forwarded-For: 198.51.100.9\r\n\r\n");
        auto response = connection.read_response();
        ASSERT_TRUE(response);
        EXPECT_EQ(parse_lines(response->body)["REMOTE_ADDR"], expected) << source;
    }
}

// ---- --proxy-protocol on a TLS listener (HAProxy's TLS passthrough) ------------------------

// The PROXY header comes in the clear, then the TLS handshake, then the requests.
class ProxyProtocolOverTls : public LoadBalancer {
  protected:
    ProxyProtocolOverTls() : ca_(certificates_.path()) {
        certificate_ = ca_.issue("cgihost-proxied");
        // The server's user may read the key, should it drop privileges (as test_https does).
        if (const group* www = ::getgrnam("www-data"); www != nullptr && ::geteuid() == 0) {
            (void)::chown(certificate_.key.c_str(), 0, www->gr_gid);
            (void)::chmod(certificate_.key.c_str(), 0640);
        }
    }

    void SetUp() override {
        ASSERT_TRUE(ca_.ok()) << "openssl could not make a test CA";
        ASSERT_FALSE(certificate_.cert.empty()) << "openssl could not make a certificate";
    }

    void start_tls(std::vector<std::string> extra = {}) {
        std::vector<std::string> args{"--proxy-protocol", "true",          "--listen-tls",
                                      "127.0.0.1:0",      "--tls-cert",    certificate_.cert,
                                      "--tls-key",        certificate_.key};
        args.insert(args.end(), extra.begin(), extra.end());
        start(args);
    }

    uint16_t tls_port() const { return server_->tls_port(); }
    TlsClientOptions client() const { return {ca_.ca_file()}; }

    TempDir certificates_;
    TestCertificateAuthority ca_;
    ServerCertificate certificate_;
};

TEST_F(ProxyProtocolOverTls, AV1HeaderBeforeTheHandshakeNamesTheClient) {
    start_tls();
    HttpConnection connection(tls_port());
    // In one segment with the ClientHello: the server reads past the header at once.
    ASSERT_TRUE(connection.start_tls(client(), "PROXY TCP4 192.0.2.7 127.0.0.1 5555 443\r\n"))
        << "no verified handshake";
    auto env = env_from(connection);
    EXPECT_EQ(env["REMOTE_ADDR"], "192.0.2.7");
    EXPECT_EQ(env["REMOTE_PORT"], "5555");
    EXPECT_EQ(env["HTTPS"], "on");
    EXPECT_EQ(env["SERVER_PORT"], std::to_string(tls_port()));
    // The next request on the connection has the same client.
    EXPECT_EQ(env_from(connection)["REMOTE_ADDR"], "192.0.2.7");
    EXPECT_NE(server_->access_log().find("192.0.2.7"), std::string::npos);
}

TEST_F(ProxyProtocolOverTls, AV2HeaderMayArriveInPiecesBeforeTheHandshake) {
    start_tls();
    HttpConnection connection(tls_port());
    const std::string header = v2_tcp4("198.51.100.4", 40000);
    connection.send_raw(header.substr(0, 7));
    std::this_thread::sleep_for(50ms);  // separate segments, so the server sees a part first
    connection.send_raw(header.substr(7, 9));
    std::this_thread::sleep_for(50ms);
    connection.send_raw(header.substr(16));
    ASSERT_TRUE(connection.start_tls(client())) << "no verified handshake";
    auto env = env_from(connection);
    EXPECT_EQ(env["REMOTE_ADDR"], "198.51.100.4");
    EXPECT_EQ(env["REMOTE_PORT"], "40000");
}

TEST_F(ProxyProtocolOverTls, ATlsConnectionWithoutAProxyHeaderIsClosedWithNothingSent) {
    start_tls();
    // The first bytes of a ClientHello (a TLS 1.0 record header, then client_hello).
    HttpConnection raw(tls_port());
    raw.send_raw("\x16\x03\x01\x00\xf4\x01\x00\x00\xf0\x03\x03"s);
    EXPECT_EQ(raw.read_until_close(), "");  // not even a TLS alert
    EXPECT_TRUE(raw.closed_by_peer());
    // A real client's handshake fails likewise.
    HttpConnection client_without_header(tls_port(), client());
    EXPECT_FALSE(client_without_header.connected());
    EXPECT_TRUE(error_log_contains("without a valid PROXY header"));
    EXPECT_EQ(server_->access_log().find("GET"), std::string::npos);
}

TEST_F(ProxyProtocolOverTls, AClientThatSendsNoProxyHeaderIsClosedAtTheHeaderTimeout) {
    start_tls({"--header-timeout", "1"});
    HttpConnection connection(tls_port());
    connection.send_raw("PROX");
    EXPECT_EQ(connection.read_until_close(), "");
    EXPECT_TRUE(connection.closed_by_peer());
    EXPECT_TRUE(error_log_contains("sent no PROXY header within --header-timeout"));
}

// ---- --health-url and --shutdown-delay -----------------------------------------------------

TEST_F(LoadBalancer, HealthAnswersOkUnloggedThen503OnceSigtermArrives) {
    start({"--health-url", "/healthz", "--shutdown-delay", "120"});
    auto health = get("/healthz");
    ASSERT_TRUE(health);
    EXPECT_EQ(health->status, 200);
    EXPECT_EQ(health->body, "ok\n");
    EXPECT_EQ(health->header("Cache-Control"), "no-store");
    EXPECT_EQ(health->header("Content-Type"), "text/plain; charset=utf-8");
    ASSERT_EQ(::kill(server_->pid(), SIGTERM), 0);
    ASSERT_TRUE(wait_until(
        [&] {
            auto answer = get("/healthz");
            return answer && answer->status == 503;
        },
        kHangGuard));
    // Still serving during the delay, but every response closes its connection.
    HttpConnection connection(port());
    auto page = connection.request("GET", "/cgi-bin/t?env");
    ASSERT_TRUE(page);
    EXPECT_EQ(page->status, 200);
    EXPECT_EQ(page->header("Connection"), "close");
    EXPECT_TRUE(connection.wait_closed());
    EXPECT_EQ(server_->access_log().find("/healthz"), std::string::npos);
    // A second SIGTERM ends the delay: the server stops well before 120 s (the hang guard
    // of stop() is 60 s), and cleanly.
    EXPECT_EQ(server_->stop(SIGTERM), 0);
}

}  // namespace
}  // namespace cgihost::testing
