#include "request.hpp"

#include <algorithm>
#include <charconv>
#include <cstdlib>

namespace samples {
namespace {

RequestError field_too_large(const std::string& name) {
    return RequestError(
        413, "Content Too Large",
        "The field “" + name + "” is longer than " + std::to_string(kMaxFieldBytes) + " bytes.");
}

// CONTENT_LENGTH as a number; 0 when absent (a GET). RFC 3875 §4.1.2 allows only digits.
std::size_t content_length() {
    const char* text = std::getenv("CONTENT_LENGTH");
    if (text == nullptr || *text == '\0') return 0;
    std::string_view digits(text);
    std::size_t length = 0;
    auto [end, error] = std::from_chars(digits.data(), digits.data() + digits.size(), length);
    if (error == std::errc::result_out_of_range) return SIZE_MAX;
    if (error != std::errc() || end != digits.data() + digits.size()) {
        throw RequestError(400, "Bad Request", "CONTENT_LENGTH is not a number.");
    }
    return length;
}

}  // namespace

void send_error_page(const RequestError& error) {
    send_error_page(error.status(), error.title(), error.what(), error.headers());
}

void require_method(std::initializer_list<std::string_view> allowed) {
    const char* method = std::getenv("REQUEST_METHOD");
    if (method != nullptr && std::find(allowed.begin(), allowed.end(), method) != allowed.end()) {
        return;
    }
    std::string allow;
    for (std::string_view name : allowed) {
        allow += (allow.empty() ? "" : ", ") + std::string(name);
    }
    throw RequestError(405, "Method Not Allowed",
                       "This program answers only " + allow + " requests.", {{"Allow", allow}});
}

cgicc::Cgicc read_form() {
    if (content_length() > kMaxBodyBytes) {
        throw RequestError(
            413, "Content Too Large",
            "The form data is larger than " + std::to_string(kMaxBodyBytes) + " bytes.");
    }
    try {
        return cgicc::Cgicc();
    } catch (const std::runtime_error&) {
        throw RequestError(400, "Bad Request", "The request body ended before CONTENT_LENGTH.");
    }
}

std::string required_field(const cgicc::Cgicc& cgi, const std::string& name) {
    auto entry = cgi.getElement(name);
    if (entry == cgi.getElements().end() || entry->isEmpty()) {
        throw RequestError(400, "Bad Request", "The field “" + name + "” is missing or empty.");
    }
    if (entry->length() > kMaxFieldBytes) throw field_too_large(name);
    return entry->getValue();
}

std::vector<std::string> field_values(const cgicc::Cgicc& cgi, const std::string& name) {
    std::vector<cgicc::FormEntry> entries;
    cgi.getElement(name, entries);
    std::vector<std::string> values;
    for (const cgicc::FormEntry& entry : entries) {
        if (entry.length() > kMaxFieldBytes) throw field_too_large(name);
        values.push_back(entry.getValue());
    }
    return values;
}

void require_choice(const std::string& name, const std::string& value,
                    const std::vector<std::string>& choices) {
    if (std::find(choices.begin(), choices.end(), value) == choices.end()) {
        throw RequestError(400, "Bad Request",
                           "“" + value + "” is not one of the choices for “" + name + "”.");
    }
}

double env_setting(const char* name, double fallback, double least, double most) {
    const char* text = std::getenv(name);
    if (text == nullptr || *text == '\0') return fallback;
    char* end = nullptr;
    double value = std::strtod(text, &end);
    if (*end != '\0' || !(value >= 0)) return fallback;
    return std::clamp(value, least, most);
}

std::string absolute_url(const cgicc::CgiEnvironment& environment, std::string_view path) {
    std::string scheme = environment.usingHTTPS() ? "https://" : "http://";
    return scheme + environment.getServerName() + ':' +
           std::to_string(environment.getServerPort()) + std::string(path);
}

}  // namespace samples
