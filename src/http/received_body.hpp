// A request body as the intake received it, whole, before the request is handled: in memory
// up to the spool threshold, beyond it in an unlinked temporary file (as lighttpd does), so
// that a large upload costs disk rather than memory.
#pragma once

#include <cstdint>

#include "http/body_memory_budget.hpp"
#include "util/event_ptr.hpp"
#include "util/unique_fd.hpp"

namespace cgihost {

struct ReceivedBody {
    bool present = false;  // the request declared a body (Content-Length or chunked), maybe empty
    uint64_t length = 0;   // decoded bytes
    EvbufferPtr memory;    // the bytes, when not spooled
    UniqueFd file;         // the bytes from offset 0, when spooled
    BodyMemoryBudget::Reservation reservation;  // the memory share `memory` holds
};

}  // namespace cgihost
