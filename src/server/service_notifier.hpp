// Tells the service manager (sd_notify(3), Type=notify units) where the server stands. Each
// call is a no-op without NOTIFY_SOCKET, i.e. when cgihost was not started by systemd.
#pragma once

#include <string>

namespace cgihost {

// The workers are serving; `status` says on what (systemctl status shows it).
void notify_ready(const std::string& status);
// A SIGHUP is being handled; notify_ready follows when it is done.
void notify_reloading(const std::string& status);
// SIGTERM/SIGINT: no new connections, in-flight requests are finishing.
void notify_stopping(const std::string& status);

}  // namespace cgihost
