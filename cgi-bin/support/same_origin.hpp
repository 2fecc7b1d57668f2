// A same-origin check for the samples' state-changing POSTs, against cross-site request
// forgery: a page on another site can make a visitor's browser POST to us (a plain form needs
// no permission), but the browser then says where the page came from, in Origin.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace samples {

// "scheme://host:port" of an absolute http(s) URL (an Origin value, or a Referer, whose path
// is dropped), host lower-cased and the scheme's default port written out, so that
// "http://Example.org" and "http://example.org:80/a" compare equal (RFC 6454 §4). nullopt for
// anything else, "null" included (a sandboxed or privacy-sensitive context).
std::optional<std::string> origin_of(std::string_view url);

// Throws a 403 RequestError unless the request's Origin header (or, without one, its Referer)
// names this server: the scheme by HTTPS, SERVER_NAME and SERVER_PORT. A request with neither
// header passes: browsers send Origin with every cross-origin POST (and with same-origin ones
// too), so a POST without it comes from a program such as curl, not from a forged form.
// Behind a proxy that changes the scheme or the port this refuses every browser's POST.
void require_same_origin();

}  // namespace samples
