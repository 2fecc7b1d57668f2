// A throwaway certificate authority and server certificates for HTTPS tests, made with the
// `openssl` command in a test's own directory: nothing is checked in, nothing expires in use.
#pragma once

#include <filesystem>
#include <string>

namespace cgihost::testing {

struct ServerCertificate {
    std::string cert;  // PEM: the server certificate followed by the CA (a full chain)
    std::string key;   // PEM private key, mode 0600
};

class TestCertificateAuthority {
  public:
    // Makes the CA's key and self-signed certificate in `dir`; ok() says whether openssl did.
    explicit TestCertificateAuthority(std::filesystem::path dir);
    bool ok() const { return ok_; }
    const std::string& ca_file() const { return ca_cert_; }

    // A server certificate for 127.0.0.1, ::1 and localhost, signed by this CA, with
    // `common_name` as its subject's CN (so tests can tell two apart). Empty paths on failure.
    ServerCertificate issue(const std::string& common_name) const;

    // A DER OCSP response about `certificate` signed by this CA, for stapling; "" on failure.
    std::string make_ocsp_response(const ServerCertificate& certificate) const;

  private:
    std::filesystem::path dir_;
    std::string ca_cert_;
    std::string ca_key_;
    bool ok_ = false;
};

}  // namespace cgihost::testing
