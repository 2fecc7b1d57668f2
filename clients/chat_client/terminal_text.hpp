// What the server says, made safe to print: a nick or message is the sender's bytes, and a
// terminal obeys control characters (ESC [ ... moves the cursor, retitles the window, and on
// some terminals worse), so only printable text reaches it. Pure.
#pragma once

#include <string>
#include <string_view>

#include "chat_client/chat_answers.hpp"

namespace cgihost::chat_client {

// Drops C0 controls (ESC included) but tab, DEL and the C1 controls U+0080-U+009F (which some
// terminals take as CSI and friends); a newline stays when `keep_newlines`. Bytes that are not
// UTF-8 become U+FFFD, so no partial sequence can merge with what is printed next.
std::string sanitize_for_terminal(std::string_view text, bool keep_newlines);

// "[HH:MM] nick: text\n" with `clock` as HH:MM; a message's own line breaks continue on
// lines indented under its text.
std::string format_message_line(const ChatMessage& message, std::string_view clock);

}  // namespace cgihost::chat_client
