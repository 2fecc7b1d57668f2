#include "server/service_notifier.hpp"

#include <systemd/sd-daemon.h>
#include <time.h>

#include <cstdint>

namespace cgihost {
namespace {

void notify(const std::string& state, const std::string& status) {
    // 0: keep NOTIFY_SOCKET for the next message; scripts never see our environment anyway.
    (void)sd_notify(0, (state + "\nSTATUS=" + status).c_str());
}

uint64_t monotonic_microseconds() {
    timespec now{};
    (void)::clock_gettime(CLOCK_MONOTONIC, &now);
    return static_cast<uint64_t>(now.tv_sec) * 1000000U +
           static_cast<uint64_t>(now.tv_nsec) / 1000U;
}

}  // namespace

void notify_ready(const std::string& status) {
    notify("READY=1", status);
}

void notify_reloading(const std::string& status) {
    // MONOTONIC_USEC lets a Type=notify-reload manager (systemd 253+) match this to its SIGHUP.
    notify("RELOADING=1\nMONOTONIC_USEC=" + std::to_string(monotonic_microseconds()), status);
}

void notify_stopping(const std::string& status) {
    notify("STOPPING=1", status);
}

}  // namespace cgihost
