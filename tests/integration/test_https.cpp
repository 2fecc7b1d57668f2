// HTTPS: the real server with a TLS listener beside its plain one, a throwaway CA and server
// certificate made with the openssl command, and clients that verify them. The first part
// runs a representative share of the CGI and static-file tests through both listeners; the
// rest is what only TLS has: protocol versions, ALPN, resumption, the handshake deadline,
// reloading the certificate, the key's permissions, redirects to https and HSTS.
#include <fcntl.h>
#include <grp.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cgi_fixture.hpp"
#include "sha256.hpp"
#include "test_certificates.hpp"

namespace cgihost::testing {
namespace {

enum class Listener { plain, tls };

std::string listener_name(const ::testing::TestParamInfo<Listener>& info) {
    return info.param == Listener::tls ? "Tls" : "Plain";
}

// A site, a CA and a certificate, and the server on both kinds of listener.
class HttpsTest : public CgiTest {
  protected:
    HttpsTest() : ca_(certificates_.path()) {
        certificate_ = ca_.issue("cgihost-first");
        let_the_server_read(certificate_.key);
    }

    // The server's user may read the key (as the ssl-cert group allows in production), so
    // that SIGHUP can reload it; the scripts' user may not.
    static void let_the_server_read(const std::string& key) {
        if (const group* www = ::getgrnam("www-data"); www != nullptr && ::geteuid() == 0) {
            (void)::chown(key.c_str(), 0, www->gr_gid);
            (void)::chmod(key.c_str(), 0640);
        }
    }

    void SetUp() override {
        ASSERT_TRUE(ca_.ok()) << "openssl could not make a test CA";
        ASSERT_FALSE(certificate_.cert.empty()) << "openssl could not make a certificate";
    }

    void start_https(std::vector<std::string> extra = {}) {
        std::vector<std::string> args{"--listen-tls",    "127.0.0.1:0", "--tls-cert",
                                      certificate_.cert, "--tls-key",   certificate_.key};
        args.insert(args.end(), extra.begin(), extra.end());
        start(args);
    }

    uint16_t tls_port() const { return server_->tls_port(); }
    TlsClientOptions client() const { return {ca_.ca_file()}; }

    std::unique_ptr<HttpConnection> connect_tls() const {
        return std::make_unique<HttpConnection>(tls_port(), client());
    }

    // What `openssl s_client` prints for a handshake with `options` (stdin: `input`).
    std::string s_client(const std::string& options, const std::string& input = "") const {
        const auto output = certificates_ / ("s_client-" + std::to_string(++s_client_runs_));
        const auto input_file =
            certificates_.write_file("s_client-input-" + std::to_string(s_client_runs_), input);
        (void)run_shell("openssl s_client -connect 127.0.0.1:" + std::to_string(tls_port()) +
                        " -CAfile '" + ca_.ca_file() + "' " + options + " < '" +
                        input_file.string() + "' > '" + output.string() + "' 2>&1");
        return read_file(output);
    }

    TempDir certificates_;
    TestCertificateAuthority ca_;
    ServerCertificate certificate_;
    mutable int s_client_runs_ = 0;
};

// ---- the same requests through the plain and the TLS listener --------------------------------

class OverBothListeners : public HttpsTest, public ::testing::WithParamInterface<Listener> {
  protected:
    bool tls() const { return GetParam() == Listener::tls; }
    uint16_t listener_port() const { return tls() ? tls_port() : port(); }

    std::unique_ptr<HttpConnection> connect() const {
        if (tls()) return connect_tls();
        return std::make_unique<HttpConnection>(port());
    }

    std::optional<HttpResponse> fetch(const std::string& method, const std::string& target,
                                      const Headers& headers = {},
                                      const std::string& body = {}) const {
        auto connection = connect();
        if (!connection->connected()) return std::nullopt;
        return connection->request(method, target, headers, body);
    }
};

INSTANTIATE_TEST_SUITE_P(Https, OverBothListeners,
                         ::testing::Values(Listener::plain, Listener::tls), listener_name);

TEST_P(OverBothListeners, GivesScriptsTheSchemeAndTheListenersPort) {
    start_https();
    auto response = fetch("GET", "/cgi-bin/t/extra?env");
    ASSERT_TRUE(response);
    ASSERT_EQ(response->status, 200);
    auto env = parse_lines(response->body);
    EXPECT_EQ(env["SERVER_PORT"], std::to_string(listener_port()));
    EXPECT_EQ(env["REQUEST_SCHEME"], tls() ? "https" : "http");
    EXPECT_EQ(env["PATH_INFO"], "/extra");
    if (tls()) {
        EXPECT_EQ(env["HTTPS"], "on");
        EXPECT_TRUE(env["SSL_PROTOCOL"] == "TLSv1.3" || env["SSL_PROTOCOL"] == "TLSv1.2")
            << env["SSL_PROTOCOL"];
        EXPECT_FALSE(env["SSL_CIPHER"].empty());
        EXPECT_EQ(env["SSL_TLS_SNI"], "localhost");
    } else {
        EXPECT_EQ(env.count("HTTPS"), 0u);
        EXPECT_EQ(env.count("SSL_PROTOCOL"), 0u);
    }
}

TEST_P(OverBothListeners, DeliversPostBodiesIntactOnEitherSideOfTheSpoolThreshold) {
    start_https();
    for (size_t size : {size_t{1000}, size_t{1} << 20}) {  // the threshold is 256 KiB
        std::string body(size, '\0');
        for (size_t i = 0; i < size; ++i)
            body[i] = static_cast<char>(kPattern[(i * 7) % kPattern.size()]);
        auto response = fetch("POST", "/cgi-bin/t?body-sha256", {}, body);
        ASSERT_TRUE(response) << size;
        ASSERT_EQ(response->status, 200) << size;
        auto lines = parse_lines(response->body);
        EXPECT_EQ(lines["length"], std::to_string(size));
        EXPECT_EQ(lines["sha256"], sha256_hex(body)) << size;
    }
}

// The first part arrives while the script still waits: the body streams, it is not gathered.
TEST_P(OverBothListeners, StreamsAScriptsOutputAsItComes) {
    start_https();
    const std::string gate = site_.file("gate");
    auto connection = connect();
    ASSERT_TRUE(connection->connected());
    connection->send_raw("GET /cgi-bin/t?body=first-part&wait-for=" + encode_query(gate) +
                         "&body=second-part HTTP/1.1\r\nHost: t\r\n\r\n");
    ASSERT_TRUE(connection->wait_for_text("first-part"));
    site_.write_file("gate", "open");
    auto response = connection->read_response();
    ASSERT_TRUE(response);
    EXPECT_EQ(response->status, 200);
    EXPECT_TRUE(response->chunked);
    EXPECT_EQ(response->body, "first-partsecond-part");
}

TEST_P(OverBothListeners, StreamsLargeScriptOutputByteForByte) {
    start_https();
    auto response = fetch("GET", "/cgi-bin/t?bytes=3M");
    ASSERT_TRUE(response);
    EXPECT_EQ(response->status, 200);
    EXPECT_EQ(response->body.size(), 3u << 20);
    EXPECT_EQ(first_pattern_mismatch(response->body), response->body.size());
}

TEST_P(OverBothListeners, FollowsLocalRedirectsAndPassesClientRedirects) {
    start_https();
    auto local = fetch("GET", "/cgi-bin/t?location=/index.html");
    ASSERT_TRUE(local);
    EXPECT_EQ(local->status, 200);
    EXPECT_EQ(local->body, kIndexHtml);
    auto client = fetch("GET", "/cgi-bin/t?location=https%3A%2F%2Fexample.org%2F");
    ASSERT_TRUE(client);
    EXPECT_EQ(client->status, 302);
    EXPECT_EQ(client->header("Location"), "https://example.org/");
}

TEST_P(OverBothListeners, SendsAnXSendfileFileAndItsRanges) {
    std::string content(1 << 20, '\0');  // beyond the inline copy: sent in pieces over TLS
    for (size_t i = 0; i < content.size(); ++i)
        content[i] = kPattern[(i * 13) % kPattern.size()];
    site_.write_file("files/file.bin", content);
    const auto files = std::filesystem::canonical(site_ / "files");
    start_https({"--cgi-x-sendfile-root", files.string()});
    const std::string target =
        "/cgi-bin/t?header=X-Sendfile:+" + encode_query((files / "file.bin").string());
    auto whole = fetch("GET", target);
    ASSERT_TRUE(whole);
    EXPECT_EQ(whole->status, 200);
    EXPECT_TRUE(whole->body == content) << "got " << whole->body.size() << " bytes";
    auto range = fetch("GET", target, {{"Range", "bytes=100000-299999"}});
    ASSERT_TRUE(range);
    EXPECT_EQ(range->status, 206);
    EXPECT_TRUE(range->body == content.substr(100000, 200000));
}

TEST_P(OverBothListeners, AnswersStaticRangesWith206) {
    std::string content(300 * 1024, '\0');
    for (size_t i = 0; i < content.size(); ++i)
        content[i] = kPattern[(i * 5) % kPattern.size()];
    site_.write_file("www/range.bin", content);
    start_https();
    auto range = fetch("GET", "/range.bin", {{"Range", "bytes=1000-250999"}});
    ASSERT_TRUE(range);
    EXPECT_EQ(range->status, 206);
    EXPECT_EQ(range->header("Content-Range"), "bytes 1000-250999/307200");
    EXPECT_TRUE(range->body == content.substr(1000, 250000));
    auto small = fetch("GET", "/range.bin", {{"Range", "bytes=-10"}});
    ASSERT_TRUE(small);
    EXPECT_EQ(small->body, content.substr(content.size() - 10));
}

TEST_P(OverBothListeners, AnswersASilentScriptWith504) {
    start_https({"--cgi-timeout", "1", "--cgi-kill-grace", "0.5"});
    auto response = fetch("GET", "/cgi-bin/t?sleep=600");
    ASSERT_TRUE(response);
    EXPECT_EQ(response->status, 504);
    EXPECT_TRUE(all_children_gone());
}

TEST_P(OverBothListeners, ServesSeveralRequestsOnOneKeepAliveConnection) {
    start_https();
    auto connection = connect();
    ASSERT_TRUE(connection->connected());
    for (const char* target : {"/index.html", "/cgi-bin/t?body=x", "/index.html"}) {
        auto response = connection->request("GET", target);
        ASSERT_TRUE(response) << target;
        EXPECT_EQ(response->status, 200) << target;
        EXPECT_FALSE(response->closed) << target;
    }
}

TEST_P(OverBothListeners, AnswersExpectContinueThenTakesTheBody) {
    start_https();
    auto connection = connect();
    ASSERT_TRUE(connection->connected());
    connection->send_raw(
        "PUT /cgi-bin/t?body-sha256 HTTP/1.1\r\nHost: t\r\nExpect: 100-continue\r\n"
        "Content-Length: 300000\r\n\r\n");
    auto interim = connection->read_response();
    ASSERT_TRUE(interim);
    ASSERT_EQ(interim->status, 100);
    const std::string body(300000, 'u');
    connection->send_raw(body);
    auto response = connection->read_response();
    ASSERT_TRUE(response);
    EXPECT_EQ(response->status, 200);
    EXPECT_EQ(parse_lines(response->body)["sha256"], sha256_hex(body));
}

// The refusal goes out while the client still writes (a lingering close), and it arrives.
TEST_P(OverBothListeners, AnswersABodyBeyondTheLimitWith413EvenIfTheClientWritesItAllFirst) {
    start_https({"--max-body-size", "1MiB"});
    auto connection = connect();
    ASSERT_TRUE(connection->connected());
    const std::string body(4 << 20, 'z');
    connection->send_raw("POST /cgi-bin/t HTTP/1.1\r\nHost: t\r\nContent-Length: " +
                         std::to_string(body.size()) + "\r\n\r\n" + body);
    auto response = connection->read_response();
    ASSERT_TRUE(response);
    EXPECT_EQ(response->status, 413);
}

TEST_P(OverBothListeners, AnswersPipelinedRequestsInOrder) {
    start_https();
    auto connection = connect();
    ASSERT_TRUE(connection->connected());
    std::string pipeline;
    for (int i = 0; i < 3; ++i)
        pipeline +=
            "GET /cgi-bin/t?body=answer-" + std::to_string(i) + " HTTP/1.1\r\nHost: t\r\n\r\n";
    connection->send_raw(pipeline);
    for (int i = 0; i < 3; ++i) {
        auto response = connection->read_response();
        ASSERT_TRUE(response) << i;
        EXPECT_EQ(response->body, "answer-" + std::to_string(i));
    }
}

// More than the 64 KiB the intake reads ahead while it answers: over TLS the rest waits partly
// inside OpenSSL, already decrypted, where no socket event would announce it.
TEST_P(OverBothListeners, AnswersAPipelineLongerThanTheReadAheadBuffer) {
    start_https();
    auto connection = connect();
    ASSERT_TRUE(connection->connected());
    constexpr int kRequests = 2200;  // about 70 KiB: the kernel takes it all before we read
    std::string pipeline;
    for (int i = 0; i < kRequests; ++i)
        pipeline += "GET /?" + std::to_string(i) + " HTTP/1.1\r\nHost: t\r\n\r\n";
    ASSERT_GT(pipeline.size(), size_t{64} * 1024);
    connection->send_raw(pipeline);  // one thread: an SSL must not be used by two at once
    int answered = 0;
    while (answered < kRequests) {
        auto response = connection->read_response();
        if (!response || response->status != 200) break;
        ++answered;
    }
    EXPECT_EQ(answered, kRequests);
}

// Large files go out in pieces whose memory the worker reuses from one response to the next:
// several clients fetching different files at once, twice over, each get their own bytes.
TEST_P(OverBothListeners, SendsDifferentLargeFilesToClientsAtOnceByteForByte) {
    constexpr size_t kClients = 6;
    constexpr size_t kSize = (700 << 10) + 7;  // several pieces and a short last one
    std::vector<std::string> contents(kClients);
    for (size_t c = 0; c < kClients; ++c) {
        contents[c].resize(kSize);
        for (size_t i = 0; i < kSize; ++i)
            contents[c][i] = kPattern[(i * (c + 3) + c * 7) % kPattern.size()];
        site_.write_file("www/large-" + std::to_string(c) + ".bin", contents[c]);
    }
    start_https();
    std::vector<std::unique_ptr<HttpConnection>> connections;
    for (size_t c = 0; c < kClients; ++c) {
        connections.push_back(connect());
        ASSERT_TRUE(connections.back()->connected());
    }
    for (int round = 0; round < 2; ++round) {
        // Every request is out before any answer is read, so the streams run side by side.
        for (size_t c = 0; c < kClients; ++c) {
            connections[c]->send_raw("GET /large-" + std::to_string(c) +
                                     ".bin HTTP/1.1\r\nHost: t\r\n\r\n");
        }
        for (size_t c = 0; c < kClients; ++c) {
            auto response = connections[c]->read_response();
            ASSERT_TRUE(response) << "round " << round << ", client " << c;
            EXPECT_EQ(response->status, 200);
            EXPECT_TRUE(response->body == contents[c])
                << "round " << round << ", client " << c << ": " << response->body.size()
                << " bytes, not the file's";
        }
    }
}

// A sparse file of 1 GiB: the body must arrive whole while the server's resident memory
// stays flat (over TLS nothing is sent with sendfile, so this is about the pieces).
TEST_P(OverBothListeners, DownloadsA1GiBFileWithFlatMemory) {
    constexpr uint64_t kSize = uint64_t{1} << 30;
    const auto path = site_ / "www/huge.bin";
    {
        int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        ASSERT_GE(fd, 0);
        ASSERT_EQ(::ftruncate(fd, static_cast<off_t>(kSize)), 0);
        ::close(fd);
    }
    start_https();
    auto connection = connect();
    ASSERT_TRUE(connection->connected());
    connection->send_raw("GET /huge.bin HTTP/1.1\r\nHost: t\r\n\r\n");
    ASSERT_TRUE(connection->wait_for_text("\r\n\r\n"));
    const uint64_t before = resident_bytes(server_->pid());
    uint64_t peak = before;
    uint64_t next_sample = 0;
    // The head, read as if for HEAD so that the body stays unread.
    auto head = connection->read_response(true);
    ASSERT_TRUE(head);
    ASSERT_EQ(head->status, 200);
    ASSERT_EQ(head->header("Content-Length"), std::to_string(kSize));
    const bool whole = connection->skip_exact(
        kSize,
        [&](uint64_t done) {
            if (done < next_sample) return;
            next_sample = done + (uint64_t{16} << 20);
            peak = std::max(peak, resident_bytes(server_->pid()));
        },
        std::chrono::minutes(4));
    EXPECT_TRUE(whole);
    EXPECT_LT(peak - before, uint64_t{64} << 20)
        << "VmRSS grew by " << (peak - before) / 1024 << " KiB while sending 1 GiB";
}

// ---- what only TLS has ---------------------------------------------------------------------

class Tls : public HttpsTest {};

TEST_F(Tls, AcceptsTls12And13AndRefusesOlderVersions) {
    start_https();
    for (const auto& [option, version] :
         {std::pair{"-tls1_2", "TLSv1.2"}, {"-tls1_3", "TLSv1.3"}}) {
        EXPECT_NE(s_client(option).find(std::string("New, ") + version + ", Cipher is"),
                  std::string::npos)
            << option;
    }
    // The client really offers them (SECLEVEL=0), so only the server's minimum refuses.
    for (const char* version : {"-tls1", "-tls1_1"}) {
        const std::string output = s_client(std::string(version) + " -cipher DEFAULT@SECLEVEL=0");
        EXPECT_NE(output.find("alert protocol version"), std::string::npos) << version << ":\n"
                                                                            << output;
    }
}

// --tls-min-version 1.3 (nginx's ssl_protocols TLSv1.3): a 1.2-only client is refused.
TEST_F(Tls, RefusesTls12WhenTheMinimumIs13) {
    start_https({"--tls-min-version", "1.3"});
    EXPECT_NE(s_client("-tls1_3").find("New, TLSv1.3, Cipher is"), std::string::npos);
    const std::string output = s_client("-tls1_2");
    EXPECT_NE(output.find("alert protocol version"), std::string::npos) << output;
    EXPECT_EQ(output.find("New, TLSv1.2"), std::string::npos) << output;
}

TEST_F(Tls, SelectsHttp11ByAlpn) {
    start_https();
    auto connection = connect_tls();
    ASSERT_TRUE(connection->connected());
    EXPECT_EQ(connection->tls_alpn(), "http/1.1");
    EXPECT_NE(s_client("-alpn h2,http/1.1").find("ALPN protocol: http/1.1"), std::string::npos);
}

TEST_F(Tls, ResumesSessions) {
    start_https();
    const std::string session = (certificates_ / "session-12").string();
    (void)s_client("-tls1_2 -sess_out '" + session + "'");
    EXPECT_NE(s_client("-tls1_2 -sess_in '" + session + "'").find("Reused, TLSv1.2"),
              std::string::npos);
    // TLS 1.3 sends its ticket after the handshake: read a whole response before leaving.
    const std::string session13 = (certificates_ / "session-13").string();
    (void)s_client("-tls1_3 -ign_eof -sess_out '" + session13 + "'",
                   "GET / HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n");
    EXPECT_NE(s_client("-tls1_3 -sess_in '" + session13 + "'").find("Reused, TLSv1.3"),
              std::string::npos);
}

TEST_F(Tls, StaplesTheOcspResponseWhenGivenOne) {
    const std::string staple = ca_.make_ocsp_response(certificate_);
    ASSERT_FALSE(staple.empty()) << "openssl could not make an OCSP response";
    start_https({"--tls-ocsp-staple", staple});
    EXPECT_NE(s_client("-status").find("OCSP Response Status: successful"), std::string::npos);
}

// A client that connects and says nothing, or half a ClientHello, is closed at
// --header-timeout (the read timeout is longer than the hang guard, so only that deadline can
// do it), and never gets a plaintext 408 inside what should be TLS.
TEST_F(Tls, ClosesAHandshakeThatDoesNotCompleteInTimeWithoutAPlaintextReply) {
    start_https({"--header-timeout", "1", "--read-timeout", "600"});
    const std::string half_client_hello("\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03", 11);
    const std::string plaintext_request = "GET / HTTP/1.1\r\nHost: t\r\n\r\n";
    for (const std::string& sent : {std::string(), half_client_hello, plaintext_request}) {
        HttpConnection connection(tls_port());
        ASSERT_TRUE(connection.connected());
        connection.send_raw(sent);
        const std::string received = connection.read_until_close();
        EXPECT_TRUE(connection.closed_by_peer()) << sent.size() << " bytes sent";
        EXPECT_EQ(received.find("HTTP/"), std::string::npos) << received;
    }
    EXPECT_TRUE(error_log_contains("TLS handshake not completed in time"));
    // The server is still well.
    auto connection = connect_tls();
    ASSERT_TRUE(connection->connected());
    auto response = connection->request("GET", "/index.html");
    ASSERT_TRUE(response);
    EXPECT_EQ(response->status, 200);
}

TEST_F(Tls, ServesHttpsOnIpv6) {
    start({"--listen-tls", "[::1]:0", "--tls-cert", certificate_.cert, "--tls-key",
           certificate_.key});
    HttpConnection connection(tls_port(), client(), "::1");
    ASSERT_TRUE(connection.connected());
    auto response = connection.request("GET", "/cgi-bin/t?env");
    ASSERT_TRUE(response);
    ASSERT_EQ(response->status, 200);
    auto env = parse_lines(response->body);
    EXPECT_EQ(env["HTTPS"], "on");
    EXPECT_EQ(env["SERVER_ADDR"], "::1");
    EXPECT_EQ(env["SERVER_PORT"], std::to_string(tls_port()));
}

TEST_F(Tls, ReloadsTheCertificateOnSighupWhileOpenConnectionsGoOn) {
    start_https();
    auto before = connect_tls();
    ASSERT_TRUE(before->connected());
    ASSERT_TRUE(before->request("GET", "/index.html"));
    EXPECT_NE(before->tls_peer_subject().find("CN=cgihost-first"), std::string::npos);

    ServerCertificate second = ca_.issue("cgihost-second");
    ASSERT_FALSE(second.cert.empty());
    std::filesystem::copy_file(second.cert, certificate_.cert,
                               std::filesystem::copy_options::overwrite_existing);
    std::filesystem::copy_file(second.key, certificate_.key,
                               std::filesystem::copy_options::overwrite_existing);
    let_the_server_read(certificate_.key);
    ::kill(server_->pid(), SIGHUP);
    ASSERT_TRUE(error_log_contains("configuration reloaded on SIGHUP")) << server_->error_log();

    auto after = connect_tls();
    ASSERT_TRUE(after->connected());
    EXPECT_NE(after->tls_peer_subject().find("CN=cgihost-second"), std::string::npos)
        << after->tls_peer_subject();
    // The connection opened before the reload keeps working.
    auto response = before->request("GET", "/cgi-bin/t?body=still-here");
    ASSERT_TRUE(response);
    EXPECT_EQ(response->body, "still-here");
}

// The rule startup enforces (the scripts' user must not read the key) holds for a reload too.
TEST_F(Tls, AReloadRefusesAKeyTheScriptsCouldRead) {
    if (::geteuid() != 0) GTEST_SKIP() << "scripts run as a user of their own only under root";
    start_https();
    ASSERT_EQ(::chmod(certificate_.key.c_str(), 0644), 0);
    ::kill(server_->pid(), SIGHUP);
    ASSERT_TRUE(error_log_contains("reload on SIGHUP refused")) << server_->error_log();
    EXPECT_TRUE(error_log_contains("is readable by the scripts' user")) << server_->error_log();
    auto connection = connect_tls();
    ASSERT_TRUE(connection->connected());
    EXPECT_EQ(connection->request("GET", "/index.html")->status, 200);
}

TEST_F(Tls, KeepsTheOldCertificateWhenTheNewOneIsBad) {
    start_https();
    certificates_.write_file(std::filesystem::path(certificate_.cert).filename().string(),
                             "-----BEGIN CERTIFICATE-----\nbroken\n-----END CERTIFICATE-----\n");
    ::kill(server_->pid(), SIGHUP);
    ASSERT_TRUE(
        error_log_contains("reload on SIGHUP refused, the running configuration stays: TLS: "))
        << server_->error_log();
    auto connection = connect_tls();
    ASSERT_TRUE(connection->connected());
    EXPECT_NE(connection->tls_peer_subject().find("CN=cgihost-first"), std::string::npos);
    auto response = connection->request("GET", "/index.html");
    ASSERT_TRUE(response);
    EXPECT_EQ(response->status, 200);
}

TEST_F(Tls, RefusesToStartWhenScriptsCouldReadTheKey) {
    if (::geteuid() != 0) GTEST_SKIP() << "needs root: only then do scripts run as another user";
    ::chmod(certificate_.key.c_str(), 0644);
    auto result = run_cgihost({"--docroot", docroot().string(), "--cgi-dir", cgi_dir().string(),
                               "--listen", "127.0.0.1:0", "--listen-tls", "127.0.0.1:0",
                               "--tls-cert", certificate_.cert, "--tls-key", certificate_.key});
    EXPECT_EQ(result.exit_status, 2);
    EXPECT_NE(result.err.find("--tls-key"), std::string::npos) << result.err;
    EXPECT_NE(result.err.find("readable by the scripts' user"), std::string::npos) << result.err;
}

TEST_F(Tls, RefusesNphScriptsWith500AndSaysWhy) {
    start_https();
    auto connection = connect_tls();
    ASSERT_TRUE(connection->connected());
    auto response = connection->request("GET", "/cgi-bin/nph-t?raw=HTTP/1.0+200+OK%0D%0A%0D%0Ahi");
    ASSERT_TRUE(response);
    EXPECT_EQ(response->status, 500);
    EXPECT_TRUE(error_log_contains("nph- scripts cannot run over HTTPS"));
    // In the clear the same script still writes its own response.
    auto plain = get("/cgi-bin/nph-t?raw=HTTP/1.0+200+OK%0D%0A%0D%0Ahi");
    ASSERT_TRUE(plain);
    EXPECT_EQ(plain->status, 200);
}

TEST_F(Tls, RedirectsPlainRequestsToHttpsWith308) {
    start_https({"--redirect-to-https", "true"});
    auto plain = get("/a/b?x=1", {{"Host", "example.org:8080"}});
    ASSERT_TRUE(plain);
    EXPECT_EQ(plain->status, 308);
    EXPECT_EQ(plain->header("Location"),
              "https://example.org:" + std::to_string(tls_port()) + "/a/b?x=1");
    auto connection = connect_tls();
    ASSERT_TRUE(connection->connected());
    auto secure = connection->request("GET", "/index.html");
    ASSERT_TRUE(secure);
    EXPECT_EQ(secure->status, 200);
}

TEST_F(Tls, RedirectsToTheCanonicalNameWhenTheHostIsNotOurs) {
    start_https({"--redirect-to-https", "true", "--server-name", "example.org", "--server-aliases",
                 "www.example.org"});
    const std::string port = std::to_string(tls_port());
    auto foreign = get("/a?x=1", {{"Host", "evil.example"}});
    ASSERT_TRUE(foreign);
    EXPECT_EQ(foreign->status, 308);
    EXPECT_EQ(foreign->header("Location"), "https://example.org:" + port + "/a?x=1");
    auto alias = get("/a", {{"Host", "www.example.org:8080"}});
    ASSERT_TRUE(alias);
    EXPECT_EQ(alias->header("Location"), "https://www.example.org:" + port + "/a");
}

TEST_F(Tls, SendsHstsOnTlsResponsesOnly) {
    start_https({"--hsts", "31536000"});
    auto connection = connect_tls();
    ASSERT_TRUE(connection->connected());
    for (const char* target : {"/index.html", "/cgi-bin/t?body=x", "/missing"}) {
        auto response = connection->request("GET", target);
        ASSERT_TRUE(response) << target;
        EXPECT_EQ(response->header("Strict-Transport-Security"), "max-age=31536000") << target;
    }
    auto plain = get("/index.html");
    ASSERT_TRUE(plain);
    EXPECT_FALSE(plain->has_header("Strict-Transport-Security"));
}

// The samples build absolute URLs and cookies from HTTPS=on.
TEST_F(Tls, SamplesRedirectToHttpsUrlsAndSetSecureCookies) {
    const std::filesystem::path samples = std::getenv("CGIHOST_SAMPLES_DIR");
    for (const char* name : {"redirect", "cookies"}) {
        std::filesystem::copy_file(samples / name, site_ / "cgi-bin" / name);
    }
    start_https();
    auto connection = connect_tls();
    ASSERT_TRUE(connection->connected());
    auto redirect = connection->request("GET", "/cgi-bin/redirect?to=client");
    ASSERT_TRUE(redirect);
    EXPECT_EQ(redirect->status, 302);
    EXPECT_EQ(redirect->header("Location").rfind("https://", 0), 0u)
        << redirect->header("Location");
    auto saved = connection->request("POST", "/cgi-bin/cookies",
                                     {{"Content-Type", "application/x-www-form-urlencoded"}},
                                     "action=save&colour=teal");
    ASSERT_TRUE(saved);
    ASSERT_GE(saved->header_count("Set-Cookie"), 1u);
    for (const auto& [name, value] : saved->headers) {
        if (name == "Set-Cookie") {
            EXPECT_NE(value.find("; Secure"), std::string::npos) << value;
        }
    }
    EXPECT_EQ(saved->header("Location").rfind("https://", 0), 0u) << saved->header("Location");
}

// Under ASan a leak (an SSL, a context, a file stream) would make the exit status non-zero.
TEST_F(Tls, StopsCleanlyWithTlsConnectionsOpenAndMidDownload) {
    site_.write_file("www/big.bin", std::string(8 << 20, 'b'));
    start_https();
    auto idle = connect_tls();
    ASSERT_TRUE(idle->connected());
    ASSERT_TRUE(idle->request("GET", "/index.html"));
    auto downloading = connect_tls();
    ASSERT_TRUE(downloading->connected());
    downloading->send_raw("GET /big.bin HTTP/1.1\r\nHost: t\r\n\r\n");
    ASSERT_TRUE(downloading->wait_for_text("\r\n\r\n"));              // the download is under way
    auto handshaking = std::make_unique<HttpConnection>(tls_port());  // never says hello
    EXPECT_EQ(server_->stop(SIGTERM), 0);
}

TEST_F(Tls, RefusesTlsListenersWithoutACertificate) {
    auto result = run_cgihost({"--docroot", docroot().string(), "--listen-tls", "127.0.0.1:0"});
    EXPECT_EQ(result.exit_status, 2);
    EXPECT_NE(result.err.find("--tls-cert"), std::string::npos) << result.err;
}

}  // namespace
}  // namespace cgihost::testing
