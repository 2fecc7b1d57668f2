#include "cgi/cgi_stderr_logger.hpp"

#include <unistd.h>

#include <cerrno>
#include <string>
#include <string_view>
#include <utility>

namespace cgihost {
namespace {

// One read takes what a full pipe holds (64 KiB by default on Linux).
constexpr size_t kReadChunk = size_t{64} * 1024;

}  // namespace

void CgiStderrLogger::start(event_base* base, UniqueFd pipe, std::string tag,
                            std::function<void()> on_end) {
    tag_ = std::move(tag);
    on_end_ = std::move(on_end);
    pipe_ = std::move(pipe);
    event_.reset(
        event_new(base, pipe_.get(), EV_READ | EV_PERSIST, &CgiStderrLogger::on_readable, this));
    event_add(event_.get(), nullptr);
}

void CgiStderrLogger::stop() {
    event_.reset();
    pipe_.reset();
}

void CgiStderrLogger::on_readable(evutil_socket_t fd, short, void* self) {
    auto* logger = static_cast<CgiStderrLogger*>(self);
    char buffer[kReadChunk];
    ssize_t n = ::read(fd, buffer, sizeof buffer);
    if (n < 0 && (errno == EAGAIN || errno == EINTR)) return;
    if (n <= 0) {  // EOF, or an error that ends the pipe like it
        logger->log(logger->lines_.finish());
        logger->stop();
        logger->on_end_();
        return;
    }
    logger->log(logger->lines_.feed(std::string_view(buffer, static_cast<size_t>(n))));
}

void CgiStderrLogger::log(const CgiStderrBatch& batch) {
    for (const std::string& line : batch.lines) {
        logger_.warn(tag_ + " stderr: " + line);
    }
    if (batch.limit_reached) {
        logger_.warn(tag_ + ": stderr beyond " + std::to_string(lines_.limit()) +
                     " bytes is not logged");
    }
}

}  // namespace cgihost
