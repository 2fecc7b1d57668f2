#include "files/directory_listing.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace cgihost {
namespace {

constexpr int64_t kExampleTime = 784111777;  // Sun, 06 Nov 1994 08:49:37 GMT

DirectoryEntry file(std::string name, uint64_t size = 0) {
    return {std::move(name), false, size, kExampleTime};
}

DirectoryEntry directory(std::string name) {
    return {std::move(name), true, 4096, kExampleTime};
}

bool contains(const std::string& page, std::string_view text) {
    return page.find(text) != std::string::npos;
}

// Position of `text` in `page`, failing the test when absent.
size_t position_of(const std::string& page, std::string_view text) {
    size_t pos = page.find(text);
    EXPECT_NE(pos, std::string::npos) << "missing: " << text;
    return pos;
}

TEST(RenderDirectoryListing, WritesAnHtml5PageTitledWithThePath) {
    std::string page = render_directory_listing("/docs/", {file("a.txt")});
    EXPECT_TRUE(page.starts_with("<!DOCTYPE html>\n")) << page;
    EXPECT_TRUE(contains(page, "<meta charset=\"utf-8\">"));
    EXPECT_TRUE(contains(page, "<title>Index of /docs/</title>"));
    EXPECT_TRUE(contains(page, "<h1>Index of /docs/</h1>"));
    EXPECT_TRUE(page.ends_with("</html>\n"));
}

TEST(RenderDirectoryListing, LinksToTheParentExceptAtTheRoot) {
    EXPECT_TRUE(contains(render_directory_listing("/docs/", {}), "<a href=\"../\">../</a>"));
    EXPECT_TRUE(contains(render_directory_listing("/a/b/", {}), "<a href=\"../\">"));
    EXPECT_FALSE(contains(render_directory_listing("/", {}), "../"));
}

TEST(RenderDirectoryListing, ListsDirectoriesFirstThenFilesEachByName) {
    std::string page = render_directory_listing(
        "/", {file("b.txt"), directory("zeta"), file("A.txt"), directory("alpha"), file("a.txt")});
    size_t alpha = position_of(page, "href=\"./alpha/\"");
    size_t zeta = position_of(page, "href=\"./zeta/\"");
    size_t upper_a = position_of(page, "href=\"./A.txt\"");
    size_t lower_a = position_of(page, "href=\"./a.txt\"");
    size_t b = position_of(page, "href=\"./b.txt\"");
    EXPECT_LT(alpha, zeta);
    EXPECT_LT(zeta, upper_a);
    EXPECT_LT(upper_a, lower_a);
    EXPECT_LT(lower_a, b);
}

TEST(RenderDirectoryListing, MarksDirectoriesWithATrailingSlash) {
    std::string page = render_directory_listing("/", {directory("sub")});
    EXPECT_TRUE(contains(page, "<a href=\"./sub/\">sub/</a>")) << page;
}

TEST(RenderDirectoryListing, EscapesScriptInANameAndEncodesItInTheHref) {
    std::string page = render_directory_listing("/", {file("<script>alert(1)</script>.txt")});
    EXPECT_FALSE(contains(page, "<script>"));
    EXPECT_TRUE(contains(page, ">&lt;script&gt;alert(1)&lt;/script&gt;.txt</a>")) << page;
    EXPECT_TRUE(contains(page, "href=\"./%3Cscript%3Ealert(1)%3C%2Fscript%3E.txt\"")) << page;
}

TEST(RenderDirectoryListing, EscapesQuotesAndAmpersandsInANameAndItsHref) {
    std::string page = render_directory_listing("/", {file("a\"b&c"), directory("it's")});
    EXPECT_TRUE(contains(page, ">a&quot;b&amp;c</a>")) << page;
    EXPECT_TRUE(contains(page, "href=\"./a%22b&amp;c\"")) << page;
    EXPECT_TRUE(contains(page, "href=\"./it%27s/\">it&#39;s/</a>")) << page;
}

TEST(RenderDirectoryListing, EncodesSpacesHashesAndNonAscii) {
    std::string page = render_directory_listing("/", {file("my file#1?.txt"), file("caf\xc3\xa9")});
    EXPECT_TRUE(contains(page, "href=\"./my%20file%231%3F.txt\">my file#1?.txt</a>")) << page;
    EXPECT_TRUE(contains(page, "href=\"./caf%C3%A9\">caf\xc3\xa9</a>")) << page;
}

TEST(RenderDirectoryListing, KeepsANameWithAColonFromLookingLikeAScheme) {
    std::string page = render_directory_listing("/", {file("javascript:alert(1)")});
    EXPECT_TRUE(contains(page, "href=\"./javascript:alert(1)\"")) << page;
    EXPECT_FALSE(contains(page, "href=\"javascript:"));
}

TEST(RenderDirectoryListing, EscapesThePath) {
    std::string page = render_directory_listing("/<b>&\"x\"/", {});
    EXPECT_TRUE(contains(page, "<title>Index of /&lt;b&gt;&amp;&quot;x&quot;/</title>")) << page;
    EXPECT_TRUE(contains(page, "<h1>Index of /&lt;b&gt;&amp;&quot;x&quot;/</h1>")) << page;
    EXPECT_FALSE(contains(page, "<b>"));
}

TEST(RenderDirectoryListing, ListsDotfilesItIsGiven) {
    std::string page = render_directory_listing("/", {file(".hidden")});
    EXPECT_TRUE(contains(page, "href=\"./.hidden\""));
}

TEST(RenderDirectoryListing, ShowsTheModificationTime) {
    std::string page = render_directory_listing("/", {file("a")});
    EXPECT_TRUE(contains(page, "<td>Sun, 06 Nov 1994 08:49:37 GMT</td>")) << page;
}

TEST(RenderDirectoryListing, ShowsHumanReadableSizes) {
    struct SizeCase {
        uint64_t size;
        const char* shown;
    };
    for (const SizeCase& c : std::initializer_list<SizeCase>{
             {0, "0 B"},
             {1, "1 B"},
             {1023, "1023 B"},
             {1024, "1.0 KiB"},
             {1536, "1.5 KiB"},
             {10 * 1024 + 51, "10.0 KiB"},
             {10 * 1024 + 52, "10.1 KiB"},
             {1024 * 1024 - 1, "1.0 MiB"},
             {5 * 1024 * 1024 + 256 * 1024, "5.3 MiB"},
             {uint64_t{3} << 30, "3.0 GiB"},
             {uint64_t{1} << 40, "1.0 TiB"},
             {uint64_t{1} << 50, "1.0 PiB"},
             {UINT64_MAX, "16.0 EiB"},
         }) {
        std::string page = render_directory_listing("/", {file("f", c.size)});
        EXPECT_TRUE(contains(page, std::string("<td class=\"size\">") + c.shown + "</td>"))
            << c.size << " should show as " << c.shown;
    }
}

TEST(RenderDirectoryListing, ShowsNoSizeForDirectories) {
    std::string page = render_directory_listing("/", {directory("d")});
    EXPECT_TRUE(contains(page, "<td class=\"size\">-</td>")) << page;
    EXPECT_FALSE(contains(page, "KiB"));
}

TEST(RenderDirectoryListing, RendersAnEmptyDirectory) {
    std::string page = render_directory_listing("/empty/", {});
    EXPECT_TRUE(contains(page, "<tbody>\n<tr><td><a href=\"../\">")) << page;
    EXPECT_FALSE(contains(page, "href=\"./"));
}

}  // namespace
}  // namespace cgihost
