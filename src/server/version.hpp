#pragma once

namespace cgihost {

// Also the product token of the Server header and SERVER_SOFTWARE (RFC 3875 §4.1.17).
inline constexpr const char* kVersion = "0.1.0";
inline constexpr const char* kServerSoftware = "cgihost/0.1.0";

}  // namespace cgihost
