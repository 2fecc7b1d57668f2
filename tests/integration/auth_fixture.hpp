// What the access-control integration tests share: a CGI test site (cgi_fixture.hpp) plus
// htpasswd files made at test time with the tools an administrator would use (Debian's
// `htpasswd` from apache2-utils, and `openssl passwd`), and Authorization headers.
#pragma once

#include <sys/wait.h>

#include <cstdio>
#include <cstdlib>
#include <string>

#include "cgi_fixture.hpp"

namespace cgihost::testing {

inline std::string encode_base64(std::string_view bytes) {
    static constexpr char kAlphabet[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    std::string out;
    size_t i = 0;
    for (; i + 2 < bytes.size(); i += 3) {
        uint32_t v =
            (uint8_t(bytes[i]) << 16) | (uint8_t(bytes[i + 1]) << 8) | uint8_t(bytes[i + 2]);
        for (int shift : {18, 12, 6, 0})
            out += kAlphabet[(v >> shift) & 63];
    }
    if (i + 1 == bytes.size()) {
        uint32_t v = uint8_t(bytes[i]) << 16;
        out += kAlphabet[(v >> 18) & 63];
        out += kAlphabet[(v >> 12) & 63];
        out += "==";
    } else if (i + 2 == bytes.size()) {
        uint32_t v = (uint8_t(bytes[i]) << 16) | (uint8_t(bytes[i + 1]) << 8);
        out += kAlphabet[(v >> 18) & 63];
        out += kAlphabet[(v >> 12) & 63];
        out += kAlphabet[(v >> 6) & 63];
        out += '=';
    }
    return out;
}

inline std::pair<std::string, std::string> basic_auth(const std::string& user,
                                                      const std::string& password) {
    return {"Authorization", "Basic " + encode_base64(user + ":" + password)};
}

// Runs a shell command line; its stdout, or a test failure when it exits non-zero.
inline std::string run_command(const std::string& command) {
    std::string out;
    FILE* pipe = ::popen(command.c_str(), "r");
    if (pipe == nullptr) {
        ADD_FAILURE() << "cannot run: " << command;
        return out;
    }
    char buffer[4096];
    size_t n = 0;
    while ((n = std::fread(buffer, 1, sizeof buffer, pipe)) > 0)
        out.append(buffer, n);
    int status = ::pclose(pipe);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        ADD_FAILURE() << "failed (" << status << "): " << command << "\n" << out;
    }
    return out;
}

// `openssl passwd -5` or `-6`: a SHA-256- or SHA-512-crypt hash of `password`.
inline std::string openssl_passwd(const std::string& scheme, const std::string& password) {
    std::string hash = run_command("openssl passwd " + scheme + " '" + password + "'");
    while (!hash.empty() && hash.back() == '\n')
        hash.pop_back();
    return hash;
}

class AuthTest : public CgiTest {
  protected:
    AuthTest() {
        site_.write_file("www/private/secret.html", "top secret\n");
        site_.write_file("www/private/inner/deeper.html", "deeper\n");
        site_.write_file("www/privateer/open.html", "open\n");
        site_.write_file("www/public/page.html", "public\n");
    }

    // `htpasswd -b -B -C cost` adds (or creates the file with) a bcrypt entry.
    std::string add_bcrypt_user(const std::string& file, const std::string& user,
                                const std::string& password, int cost = 4) const {
        const std::string path = site_.file(file);
        const bool exists = std::filesystem::exists(path);
        run_command(std::string("htpasswd -b") + (exists ? "" : "c") + " -B -C " +
                    std::to_string(cost) + " '" + path + "' '" + user + "' '" + password +
                    "' 2>&1");
        return path;
    }

    // Appends a raw line to an htpasswd file.
    std::string add_line(const std::string& file, const std::string& line) const {
        const std::string path = site_.file(file);
        std::string text = std::filesystem::exists(path) ? read_file(path) : "";
        site_.write_file(file, text + line + "\n", 0600);
        return path;
    }

    size_t count_in_error_log(const std::string& text) const {
        return count_occurrences(server_->error_log(), text);
    }
};

}  // namespace cgihost::testing
