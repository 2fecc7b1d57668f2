#include "files/mime_types.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <string>

namespace cgihost {
namespace {

struct LookupCase {
    const char* file_name;
    const char* content_type;
};

void expect_lookups(const MimeTypes& types, std::initializer_list<LookupCase> cases) {
    for (const LookupCase& c : cases) {
        EXPECT_EQ(types.content_type_for(c.file_name), c.content_type) << c.file_name;
    }
}

TEST(MimeTypes, BuiltinsCoverTheCommonWebTypes) {
    expect_lookups(MimeTypes::with_builtin_defaults(),
                   {
                       {"index.html", "text/html; charset=utf-8"},
                       {"index.htm", "text/html; charset=utf-8"},
                       {"site.css", "text/css; charset=utf-8"},
                       {"app.js", "text/javascript; charset=utf-8"},
                       {"module.mjs", "text/javascript; charset=utf-8"},
                       {"data.json", "application/json; charset=utf-8"},
                       {"feed.xml", "application/xml; charset=utf-8"},
                       {"notes.txt", "text/plain; charset=utf-8"},
                       {"table.csv", "text/csv; charset=utf-8"},
                       {"README.md", "text/markdown; charset=utf-8"},
                       {"logo.svg", "image/svg+xml; charset=utf-8"},
                       {"a.png", "image/png"},
                       {"a.jpg", "image/jpeg"},
                       {"a.jpeg", "image/jpeg"},
                       {"a.gif", "image/gif"},
                       {"a.webp", "image/webp"},
                       {"a.avif", "image/avif"},
                       {"favicon.ico", "image/vnd.microsoft.icon"},
                       {"a.bmp", "image/bmp"},
                       {"doc.pdf", "application/pdf"},
                       {"prog.wasm", "application/wasm"},
                       {"f.woff", "font/woff"},
                       {"f.woff2", "font/woff2"},
                       {"f.ttf", "font/ttf"},
                       {"f.otf", "font/otf"},
                       {"song.mp3", "audio/mpeg"},
                       {"song.ogg", "audio/ogg"},
                       {"song.wav", "audio/wav"},
                       {"film.mp4", "video/mp4"},
                       {"film.webm", "video/webm"},
                       {"a.zip", "application/zip"},
                       {"a.gz", "application/gzip"},
                       {"a.tar", "application/x-tar"},
                       {"a.tgz", "application/gzip"},
                       {"a.bz2", "application/x-bzip2"},
                       {"a.xz", "application/x-xz"},
                       {"a.7z", "application/x-7z-compressed"},
                   });
}

TEST(MimeTypes, UsesOnlyTheLastExtension) {
    expect_lookups(MimeTypes::with_builtin_defaults(),
                   {
                       {"backup.tar.gz", "application/gzip"},
                       {"page.html.txt", "text/plain; charset=utf-8"},
                       {"v1.2.3.zip", "application/zip"},
                   });
}

TEST(MimeTypes, IgnoresTheCaseOfTheExtension) {
    expect_lookups(MimeTypes::with_builtin_defaults(),
                   {
                       {"PHOTO.JPG", "image/jpeg"},
                       {"Index.HtMl", "text/html; charset=utf-8"},
                   });
}

TEST(MimeTypes, LooksOnlyAtTheBaseNameOfAPath) {
    expect_lookups(MimeTypes::with_builtin_defaults(),
                   {
                       {"/srv/www/docs/a.css", "text/css; charset=utf-8"},
                       {"/srv/www.d/README", "application/octet-stream"},
                       {"dir.png/file", "application/octet-stream"},
                   });
}

TEST(MimeTypes, TreatsALeadingDotAsPartOfTheName) {
    expect_lookups(MimeTypes::with_builtin_defaults(),
                   {
                       {".bashrc", "application/octet-stream"},
                       {"/home/u/.html", "application/octet-stream"},
                       {".config.json", "application/json; charset=utf-8"},
                   });
}

TEST(MimeTypes, AnswersOctetStreamForUnknownOrMissingExtensions) {
    expect_lookups(MimeTypes::with_builtin_defaults(),
                   {
                       {"Makefile", "application/octet-stream"},
                       {"file.", "application/octet-stream"},
                       {"file.unknownext", "application/octet-stream"},
                       {"", "application/octet-stream"},
                       {"/", "application/octet-stream"},
                   });
}

TEST(MimeTypes, AnEmptyTableKnowsNothing) {
    expect_lookups(MimeTypes(), {{"index.html", "application/octet-stream"}});
}

TEST(MimeTypesText, ParsesTypesWithSeveralExtensionsCommentsAndTabs) {
    MimeTypes types;
    types.load_mime_types_text(
        "# a comment line\n"
        "\n"
        "text/x-one\t\tone uno   # trailing comment\n"
        "   image/x-two two\r\n"
        "application/x-none\n"
        "application/x-last last");
    expect_lookups(types, {
                              {"a.one", "text/x-one; charset=utf-8"},
                              {"a.uno", "text/x-one; charset=utf-8"},
                              {"a.two", "image/x-two"},
                              {"a.last", "application/x-last"},
                              {"a.none", "application/octet-stream"},
                          });
}

TEST(MimeTypesText, OverridesBuiltinsAndEarlierLines) {
    MimeTypes types = MimeTypes::with_builtin_defaults();
    types.load_mime_types_text(
        "application/javascript js\n"
        "image/x-first dup\n"
        "image/x-second dup\n");
    expect_lookups(types, {
                              {"a.js", "application/javascript; charset=utf-8"},
                              {"a.dup", "image/x-second"},
                              {"a.png", "image/png"},
                          });
}

TEST(MimeTypesText, StoresTypesAndExtensionsInLowerCase) {
    MimeTypes types;
    types.load_mime_types_text("Text/X-Shout SHOUT\n");
    expect_lookups(types, {{"a.shout", "text/x-shout; charset=utf-8"}});
}

TEST(MimeTypesText, SkipsLinesWhoseFirstWordIsNotAMediaType) {
    MimeTypes types;
    types.load_mime_types_text("garbage ext\n#text/plain hidden\n");
    expect_lookups(types, {
                              {"a.ext", "application/octet-stream"},
                              {"a.hidden", "application/octet-stream"},
                          });
}

TEST(MimeTypes, AddsCharsetToTextLikeTypesOnly) {
    MimeTypes types;
    types.load_mime_types_text(
        "text/x-anything t1\n"
        "application/javascript t2\n"
        "application/ld+json t3\n"
        "application/atom+xml t4\n"
        "image/svg+xml t5\n"
        "application/octet-stream t6\n"
        "image/png t7\n"
        "application/xml-dtd t8\n");
    expect_lookups(types, {
                              {"a.t1", "text/x-anything; charset=utf-8"},
                              {"a.t2", "application/javascript; charset=utf-8"},
                              {"a.t3", "application/ld+json; charset=utf-8"},
                              {"a.t4", "application/atom+xml; charset=utf-8"},
                              {"a.t5", "image/svg+xml; charset=utf-8"},
                              {"a.t6", "application/octet-stream"},
                              {"a.t7", "image/png"},
                              {"a.t8", "application/xml-dtd"},
                          });
}

TEST(MimeTypesFile, ReturnsFalseAndKeepsBuiltinsWhenTheFileIsMissing) {
    MimeTypes types = MimeTypes::with_builtin_defaults();
    EXPECT_FALSE(types.load_file("/nonexistent/mime.types"));
    expect_lookups(types, {{"a.png", "image/png"}});
}

TEST(MimeTypesFile, ReturnsFalseForADirectory) {
    MimeTypes types = MimeTypes::with_builtin_defaults();
    EXPECT_FALSE(types.load_file("/"));
    expect_lookups(types, {{"a.png", "image/png"}});
}

TEST(MimeTypesFile, LoadsAWrittenFile) {
    char path[] = "/tmp/cgihost-mime-XXXXXX";
    int fd = mkstemp(path);
    ASSERT_GE(fd, 0);
    const std::string text = "image/x-test tst\n";
    ASSERT_EQ(write(fd, text.data(), text.size()), static_cast<ssize_t>(text.size()));
    close(fd);
    MimeTypes types;
    EXPECT_TRUE(types.load_file(path));
    unlink(path);
    expect_lookups(types, {{"a.tst", "image/x-test"}});
}

TEST(MimeTypesFile, LoadsTheSystemMimeTypes) {
    const char* system_file = "/etc/mime.types";
    if (access(system_file, R_OK) != 0) GTEST_SKIP() << system_file << " is not installed";
    MimeTypes types = MimeTypes::with_builtin_defaults();
    ASSERT_TRUE(types.load_file(system_file));
    expect_lookups(types, {
                              {"index.html", "text/html; charset=utf-8"},
                              {"a.css", "text/css; charset=utf-8"},
                              {"a.json", "application/json; charset=utf-8"},
                              {"a.png", "image/png"},
                              {"a.pdf", "application/pdf"},
                              {"a.svg", "image/svg+xml; charset=utf-8"},
                              {"a.gz", "application/gzip"},
                              {"a.unknownext", "application/octet-stream"},
                          });
}

}  // namespace
}  // namespace cgihost
