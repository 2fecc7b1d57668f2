// What the real-application tests share (test_app_php, test_app_git, test_app_perl): the
// fixture scripts of tests/apps copied into a test site, a shell runner for the programs the
// tests drive (git), test data, and multipart/form-data bodies built by hand (RFC 7578).
#pragma once

#include <strings.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "cgi_fixture.hpp"

namespace cgihost::testing {

inline constexpr size_t kMiB = 1024 * 1024;
inline constexpr const char* kMultipartBoundary = "----cgihost-app-test-5e1b07";

// tests/apps in the source tree (set by tests/meson.build).
inline std::filesystem::path apps_source_dir() {
    const char* value = std::getenv("CGIHOST_APPS_DIR");
    if (value == nullptr || *value == '\0') {
        throw std::runtime_error("CGIHOST_APPS_DIR is not set; run the tests with meson test");
    }
    return value;
}

inline bool is_executable(const std::string& path) {
    return ::access(path.c_str(), X_OK) == 0;
}

// Started as root, cgihost serves as www-data and runs scripts as nobody (see README, "Least
// privilege"); these are the flags that say so, and the owner of what scripts must write.
inline std::vector<std::string> privilege_flags() {
    if (::geteuid() != 0) return {};
    return {"--user", "www-data", "--cgi-user", "nobody"};
}

// Single-quotes a word for /bin/sh.
inline std::string shell_quote(const std::string& word) {
    std::string quoted = "'";
    for (char c : word) {
        if (c == '\'') {
            quoted += "'\\''";
        } else {
            quoted += c;
        }
    }
    return quoted + "'";
}

struct FormPart {
    std::string name;                     // the form field
    std::optional<std::string> filename;  // a file part when set
    std::string data;
};

inline std::string multipart_content_type() {
    return std::string("multipart/form-data; boundary=") + kMultipartBoundary;
}

inline std::string multipart_body(const std::vector<FormPart>& parts) {
    std::string body;
    for (const FormPart& part : parts) {
        body += std::string("--") + kMultipartBoundary +
                "\r\nContent-Disposition: form-data; name=\"" + part.name + '"';
        if (part.filename) {
            body +=
                "; filename=\"" + *part.filename + "\"\r\nContent-Type: application/octet-stream";
        }
        body += "\r\n\r\n" + part.data + "\r\n";
    }
    return body + "--" + kMultipartBoundary + "--\r\n";
}

// The value of cookie `name` in the Set-Cookie headers of `response` ("" when not set).
inline std::string set_cookie_value(const HttpResponse& response, const std::string& name) {
    for (const auto& [header, value] : response.headers) {
        if (strcasecmp(header.c_str(), "Set-Cookie") != 0) continue;
        if (value.rfind(name + "=", 0) != 0) continue;
        return value.substr(name.size() + 1, value.find(';') - name.size() - 1);
    }
    return "";
}

}  // namespace cgihost::testing
