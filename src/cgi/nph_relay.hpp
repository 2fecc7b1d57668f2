// RFC 3875 §5: an nph- script writes the whole HTTP response itself, so its output goes to
// the client byte for byte. evhttp shuts a socket down when it frees the connection, so the
// relay writes through a duplicate of the client's socket (the connection stays allocated,
// idle, meanwhile) and buffers what the client has not taken yet.
#pragma once

#include <cstddef>
#include <functional>

#include "util/event_ptr.hpp"
#include "util/unique_fd.hpp"

namespace cgihost {

class NphRelay {
  public:
    // What the owner should do after a write, with the script's output in mind.
    enum class Progress {
        flowing,    // the client keeps up: read the script
        backed_up,  // more than max_pending waits for the client: stop reading the script
        draining,   // the script's output is over; bytes still wait for the client
        closed,     // all delivered after the end, or the client is gone: the relay is closed
    };

    NphRelay() = default;
    NphRelay(const NphRelay&) = delete;
    NphRelay& operator=(const NphRelay&) = delete;

    // Relays to a duplicate of `client_socket` from now on; false (and closed) when it cannot
    // be made. `on_progress` hears the outcome of each write the socket's readiness allowed.
    bool start(event_base* base, int client_socket, size_t max_pending,
               std::function<void(Progress)> on_progress);
    bool open() const { return static_cast<bool>(socket_); }
    // Queues the script's bytes and writes what the socket takes now; only while open().
    Progress send(const char* data, size_t size);
    // Writes what the socket takes of the queued bytes; only while open().
    Progress flush();
    // The script's output is over: once everything queued is delivered, the relay closes.
    void end_input() { input_ended_ = true; }
    void close();

  private:
    static void on_writable(evutil_socket_t, short, void* self);

    size_t max_pending_ = 0;
    bool input_ended_ = false;
    std::function<void(Progress)> on_progress_;
    UniqueFd socket_;
    EvbufferPtr pending_;
    EventPtr write_event_;
};

}  // namespace cgihost
