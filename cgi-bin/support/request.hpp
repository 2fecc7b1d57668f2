// Reading and checking a request in the sample CGI programs. A sample checks its input before
// it prints anything; whatever it refuses is thrown as a RequestError, which the sample's main
// catches and turns into a 4xx page with send_error_page. Bad input never crashes a sample.
#pragma once

#include <cgicc/CgiEnvironment.h>
#include <cgicc/Cgicc.h>

#include <cstddef>
#include <initializer_list>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "html.hpp"

namespace samples {

// The samples' forms are small; these bounds keep a careless or hostile client from making a
// sample hold megabytes in memory or echo them back.
inline constexpr std::size_t kMaxFieldBytes = 4 * 1024;
inline constexpr std::size_t kMaxBodyBytes = 64 * 1024;

// A request the program will not serve, and the status that says why.
class RequestError : public std::runtime_error {
  public:
    RequestError(int status, std::string title, const std::string& message,
                 HeaderFields headers = {})
        : std::runtime_error(message),
          status_(status),
          title_(std::move(title)),
          headers_(std::move(headers)) {}

    int status() const { return status_; }
    const std::string& title() const { return title_; }
    const HeaderFields& headers() const { return headers_; }

  private:
    int status_;
    std::string title_;
    HeaderFields headers_;
};

// Writes the error page for `error` to stdout.
void send_error_page(const RequestError& error);

// Throws 405 Method Not Allowed, with an Allow header listing `allowed`, unless REQUEST_METHOD
// is one of them (RFC 9110 §15.5.6). Call it before read_form, which would read the body.
void require_method(std::initializer_list<std::string_view> allowed);

// Parses the query string and, for POST, the body. cgicc reads the whole body into memory, so
// a CONTENT_LENGTH over kMaxBodyBytes is refused with 413 before a byte is read, and a body
// that ends early (cgicc throws) becomes 400 rather than a crash.
cgicc::Cgicc read_form();

// The value of a field that must be present and not empty: 400 when it is missing or empty,
// 413 when it is longer than kMaxFieldBytes. The first one wins if the name repeats.
std::string required_field(const cgicc::Cgicc& cgi, const std::string& name);

// Every value sent under `name` (a <select multiple> or repeated checkboxes), in the order the
// browser sent them; each is held to kMaxFieldBytes.
std::vector<std::string> field_values(const cgicc::Cgicc& cgi, const std::string& name);

// Throws 400 unless `value` is one of `choices`: a radio button or <select> can only send the
// values the form offered, so anything else did not come from the form.
void require_choice(const std::string& name, const std::string& value,
                    const std::vector<std::string>& choices);

// "http://SERVER_NAME:SERVER_PORT" + path, https when HTTPS=on (cgihost's TLS listeners): the
// absolute URL that a client redirect's Location needs (RFC 3875 §6.2.3). SERVER_NAME is
// already bracketed when it is an IPv6 address.
std::string absolute_url(const cgicc::CgiEnvironment& environment, std::string_view path);

// The number in environment variable `name`, clamped to [least, most]; `fallback` when it is
// unset, empty, not a number or negative. The samples' knobs (CGIHOST_CHAT_WAIT, ...) use it.
double env_setting(const char* name, double fallback, double least, double most);

}  // namespace samples
