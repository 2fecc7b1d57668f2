#include "test_certificates.hpp"

#include <sys/wait.h>

#include <cstdlib>
#include <fstream>

namespace cgihost::testing {
namespace {

// Test paths come from mkdtemp and our own names: single quotes are enough.
std::string quote(const std::filesystem::path& path) {
    return "'" + path.string() + "'";
}

constexpr const char* kKeyOptions = "-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes";

// Runs `command` through /bin/sh; true when it exits 0. Its output goes to the test's log.
bool succeeds(const std::string& command) {
    const int status = std::system(command.c_str());
    return status != -1 && WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

}  // namespace

TestCertificateAuthority::TestCertificateAuthority(std::filesystem::path dir)
    : dir_(std::move(dir)) {
    ca_cert_ = (dir_ / "ca.pem").string();
    ca_key_ = (dir_ / "ca.key").string();
    ok_ = succeeds(std::string("openssl req -x509 ") + kKeyOptions + " -keyout " + quote(ca_key_) +
                   " -out " + quote(ca_cert_) +
                   " -days 2 -subj /CN=cgihost-test-ca -addext "
                   "basicConstraints=critical,CA:TRUE -addext keyUsage=keyCertSign,cRLSign "
                   "2>/dev/null");
}

ServerCertificate TestCertificateAuthority::issue(const std::string& common_name) const {
    const auto base = dir_ / common_name;
    const std::string key = base.string() + ".key";
    const std::string request = base.string() + ".csr";
    const std::string leaf = base.string() + ".leaf.pem";
    const std::string chain = base.string() + ".pem";
    const std::string extensions = base.string() + ".ext";
    std::ofstream(extensions) << "subjectAltName=IP:127.0.0.1,IP:::1,DNS:localhost\n"
                                 "basicConstraints=CA:FALSE\n"
                                 "keyUsage=digitalSignature\n"
                                 "extendedKeyUsage=serverAuth\n";
    const bool made =
        succeeds(std::string("openssl req ") + kKeyOptions + " -keyout " + quote(key) + " -out " +
                 quote(request) + " -subj /CN=" + common_name + " 2>/dev/null") &&
        succeeds("openssl x509 -req -in " + quote(request) + " -CA " + quote(ca_cert_) +
                 " -CAkey " + quote(ca_key_) + " -CAcreateserial -days 2 -extfile " +
                 quote(extensions) + " -out " + quote(leaf) + " 2>/dev/null") &&
        succeeds("cat " + quote(leaf) + " " + quote(ca_cert_) + " > " + quote(chain)) &&
        succeeds("chmod 600 " + quote(key));
    if (!made) return {};
    return {chain, key};
}

std::string TestCertificateAuthority::make_ocsp_response(
    const ServerCertificate& certificate) const {
    const auto index = dir_ / "ocsp-index.txt";
    const auto request = dir_ / "ocsp-request.der";
    const auto response = dir_ / "ocsp-response.der";
    std::ofstream(index).close();  // no entries: the answer about our certificate is "unknown"
    const bool made =
        succeeds("openssl ocsp -issuer " + quote(ca_cert_) + " -cert " + quote(certificate.cert) +
                 " -no_nonce -reqout " + quote(request) + " >/dev/null 2>&1") &&
        succeeds("openssl ocsp -index " + quote(index) + " -CA " + quote(ca_cert_) + " -rsigner " +
                 quote(ca_cert_) + " -rkey " + quote(ca_key_) + " -reqin " + quote(request) +
                 " -respout " + quote(response) + " -ndays 1 >/dev/null 2>&1");
    return made ? response.string() : std::string();
}

}  // namespace cgihost::testing
