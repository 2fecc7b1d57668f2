// unique_ptr owners for libevent objects, so every event_base, evhttp, event and evbuffer is
// freed exactly once, in reverse order of creation.
#pragma once

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>

#include <cmath>
#include <memory>

namespace cgihost {

struct EventBaseDeleter {
    void operator()(event_base* base) const { event_base_free(base); }
};
struct EvhttpDeleter {
    void operator()(evhttp* http) const { evhttp_free(http); }
};
struct EventDeleter {
    void operator()(event* ev) const { event_free(ev); }
};
struct EvbufferDeleter {
    void operator()(evbuffer* buffer) const { evbuffer_free(buffer); }
};

using EventBasePtr = std::unique_ptr<event_base, EventBaseDeleter>;
using EvhttpPtr = std::unique_ptr<evhttp, EvhttpDeleter>;
using EventPtr = std::unique_ptr<event, EventDeleter>;
using EvbufferPtr = std::unique_ptr<evbuffer, EvbufferDeleter>;

// Seconds (from the config) as libevent's timeval.
inline timeval to_timeval(double seconds) {
    timeval tv{};
    tv.tv_sec = static_cast<time_t>(seconds);
    tv.tv_usec = static_cast<suseconds_t>((seconds - std::floor(seconds)) * 1e6);
    return tv;
}

}  // namespace cgihost
