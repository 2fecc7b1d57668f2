// The status page: a fixed document whose policy admits its own script and style only.
#include "status/status_page.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>

namespace cgihost {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

TEST(StatusPage, AllowsOnlyItsOwnScriptAndStyle) {
    const std::string& csp = status_page_csp();
    EXPECT_THAT(csp, HasSubstr("default-src 'none'"));
    EXPECT_THAT(csp, HasSubstr("script-src 'sha256-"));
    EXPECT_THAT(csp, Not(HasSubstr("unsafe-inline")));
    const std::string& page = status_page_html();
    EXPECT_THAT(page, HasSubstr("id=\"rps-line\""));
    EXPECT_THAT(page, Not(HasSubstr("http://")));  // no external resource
    EXPECT_THAT(page, Not(HasSubstr("https://")));
    EXPECT_THAT(page, Not(HasSubstr("style=\"")));  // style attributes would need a CSP hole
}

}  // namespace
}  // namespace cgihost
