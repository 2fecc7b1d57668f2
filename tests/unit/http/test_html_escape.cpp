#include "http/html_escape.hpp"

#include <gtest/gtest.h>

namespace cgihost {
namespace {

TEST(HtmlEscape, LeavesPlainTextAlone) {
    EXPECT_EQ(html_escape("hello world"), "hello world");
}

TEST(HtmlEscape, EscapesEveryMarkupCharacter) {
    EXPECT_EQ(html_escape(R"(<a href="x">'&'</a>)"),
              "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;");
}

TEST(HtmlEscape, KeepsUtf8BytesUnchanged) {
    EXPECT_EQ(html_escape("caf\xc3\xa9"), "caf\xc3\xa9");
}

}  // namespace
}  // namespace cgihost
