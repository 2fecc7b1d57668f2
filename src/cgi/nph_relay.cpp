#include "cgi/nph_relay.hpp"

#include <fcntl.h>

#include <cerrno>
#include <utility>

namespace cgihost {

bool NphRelay::start(event_base* base, int client_socket, size_t max_pending,
                     std::function<void(Progress)> on_progress) {
    max_pending_ = max_pending;
    on_progress_ = std::move(on_progress);
    socket_.reset(::fcntl(client_socket, F_DUPFD_CLOEXEC, 3));
    if (!socket_) return false;
    pending_.reset(evbuffer_new());
    write_event_.reset(event_new(base, socket_.get(), EV_WRITE, &NphRelay::on_writable, this));
    return true;
}

NphRelay::Progress NphRelay::send(const char* data, size_t size) {
    evbuffer_add(pending_.get(), data, size);
    return flush();
}

NphRelay::Progress NphRelay::flush() {
    if (evbuffer_write(pending_.get(), socket_.get()) < 0 && errno != EAGAIN && errno != EINTR) {
        close();  // the client is gone
        return Progress::closed;
    }
    const size_t waiting = evbuffer_get_length(pending_.get());
    if (waiting > 0) event_add(write_event_.get(), nullptr);
    if (input_ended_) {
        if (waiting > 0) return Progress::draining;
        close();  // everything was delivered
        return Progress::closed;
    }
    return waiting > max_pending_ ? Progress::backed_up : Progress::flowing;
}

void NphRelay::close() {
    write_event_.reset();
    socket_.reset();
}

void NphRelay::on_writable(evutil_socket_t, short, void* self) {
    auto* relay = static_cast<NphRelay*>(self);
    relay->on_progress_(relay->flush());
}

}  // namespace cgihost
