#include "files/target_resolver.hpp"

#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <optional>
#include <string>
#include <vector>

namespace cgihost {

// Outside the anonymous namespace so that GoogleTest finds it by argument-dependent lookup.
std::ostream& operator<<(std::ostream& out, TargetKind kind) {
    switch (kind) {
        case TargetKind::static_file:
            return out << "static_file";
        case TargetKind::directory_listing:
            return out << "directory_listing";
        case TargetKind::redirect_to_slash:
            return out << "redirect_to_slash";
        case TargetKind::cgi_script:
            return out << "cgi_script";
        case TargetKind::not_found:
            return out << "not_found";
        case TargetKind::forbidden:
            return out << "forbidden";
        case TargetKind::bad_request:
            return out << "bad_request";
    }
    return out << "?";
}

namespace {

namespace fs = std::filesystem;

// ---- normalize_url_path: pure, so one big table ----

struct NormalizeCase {
    std::string raw;
    std::optional<std::string> expected;  // nullopt = rejected
};

TEST(NormalizeUrlPath, AcceptsAndCleansSafePaths) {
    const std::vector<NormalizeCase> cases = {
        {"/", "/"},
        {"/a", "/a"},
        {"/a/", "/a/"},
        {"//a", "/a"},
        {"/a//", "/a/"},
        {"/a/./b//c", "/a/b/c"},
        {"/a/b/..", "/a/"},
        {"/a/b/.", "/a/b/"},
        {"/a/..", "/"},
        {"/.", "/"},
        {"/./", "/"},
        {"/a/../b", "/b"},
        {"/a/b/../../c", "/c"},
        {"/a/%2e%2e/b", "/b"},
        {"/a/%2E/b", "/a/b"},
        {"/a/.%2e/", "/"},
        {"/%61%62", "/ab"},
        {"/a%20b", "/a b"},
        {"/a+b", "/a+b"},
        {"/caf%C3%A9", "/caf\xc3\xa9"},
        {"/a;b=c/d", "/a;b=c/d"},
        {"/...", "/..."},
        {"/a..b/..c", "/a..b/..c"},
        {"/env.", "/env."},
        {"/env%20", "/env "},
        {"/%252e%252e/x", "/%2e%2e/x"},  // decoded once: "%2e" is now a literal name
        {"/%252F", "/%2F"},
        {"/.git/config", "/.git/config"},  // hiding dotfiles is resolve_target's job
    };
    for (const auto& c : cases) {
        EXPECT_EQ(normalize_url_path(c.raw), c.expected) << "raw: " << c.raw;
    }
}

TEST(NormalizeUrlPath, RejectsTraversalAboveTheRoot) {
    for (const char* raw :
         {"/..", "/../", "/../x", "/a/../../x", "/./../x", "/a/./../../b", "/%2e%2e/x", "/.%2e/x",
          "/%2e./x", "/%2E%2e/", "/%2e%2E", "//../x", "/a/b/../../../c"}) {
        EXPECT_EQ(normalize_url_path(raw), std::nullopt) << "raw: " << raw;
    }
}

TEST(NormalizeUrlPath, RejectsEncodedSeparatorsInsideASegment) {
    for (const char* raw : {"/a/%2f/b", "/a%2Fb", "/a%2fb", "/%2F", "/%2f..%2f", "/a%5cb", "/a%5Cb",
                            "/a\\b", "/..\\x", "/%5c..%5c"}) {
        EXPECT_EQ(normalize_url_path(raw), std::nullopt) << "raw: " << raw;
    }
}

TEST(NormalizeUrlPath, RejectsNulWhetherEncodedOrRaw) {
    EXPECT_EQ(normalize_url_path("/%00"), std::nullopt);
    EXPECT_EQ(normalize_url_path("/a%00.html"), std::nullopt);
    EXPECT_EQ(normalize_url_path(std::string_view("/a\0b", 4)), std::nullopt);
}

TEST(NormalizeUrlPath, RejectsInvalidEscapes) {
    for (const char* raw : {"/%", "/%zz", "/%2", "/a%g0", "/a/%", "/%%41"}) {
        EXPECT_EQ(normalize_url_path(raw), std::nullopt) << "raw: " << raw;
    }
}

TEST(NormalizeUrlPath, RejectsPathsNotStartingWithSlash) {
    for (const char* raw : {"", "a", "*", "../x", "%2fa", "http://h/a"}) {
        EXPECT_EQ(normalize_url_path(raw), std::nullopt) << "raw: " << raw;
    }
}

// ---- resolve_target: a real tree in a temporary directory ----

class TargetResolverTest : public ::testing::Test {
  protected:
    void SetUp() override {
        std::string pattern = fs::temp_directory_path() / "cgihost-resolver-XXXXXX";
        ASSERT_NE(::mkdtemp(pattern.data()), nullptr) << std::strerror(errno);
        // realpath'd like the real config, in case TMPDIR itself is a symlink.
        root_ = fs::canonical(pattern);
        build_tree();
        config_.docroot = path("www");
        config_.cgi_url_prefix = "/cgi-bin";
        config_.cgi_dir = path("cgi-bin");
    }

    void TearDown() override {
        std::error_code ignored;
        fs::permissions(path("www/unreadable.txt"), fs::perms::owner_all, ignored);
        fs::remove_all(root_, ignored);
    }

    std::string path(const std::string& relative) const { return root_ + "/" + relative; }

    void write_file(const std::string& relative, fs::perms mode) {
        fs::create_directories(fs::path(path(relative)).parent_path());
        std::ofstream(path(relative)) << "#!/bin/sh\necho source of " << relative << "\n";
        fs::permissions(path(relative), mode);
    }

    void make_symlink(const std::string& target, const std::string& relative) {
        fs::create_symlink(target, path(relative));
    }

    void make_fifo(const std::string& relative) {
        ASSERT_EQ(::mkfifo(path(relative).c_str(), 0644), 0) << std::strerror(errno);
    }

    void build_tree();

    Target resolve(std::string_view raw) const { return resolve_target(config_, raw); }

    // A layout where the script directory sits inside the docroot: www/cgi, served at /cgi-bin.
    ResolverConfig nested_cgi_config() const {
        ResolverConfig nested = config_;
        nested.cgi_dir = path("www/cgi");
        return nested;
    }

    std::string root_;
    ResolverConfig config_;
};

constexpr fs::perms kExecutable = fs::perms::owner_all | fs::perms::group_read |
                                  fs::perms::group_exec | fs::perms::others_read |
                                  fs::perms::others_exec;
constexpr fs::perms kReadable =
    fs::perms::owner_read | fs::perms::owner_write | fs::perms::group_read | fs::perms::others_read;

void TargetResolverTest::build_tree() {
    for (const char* file :
         {"www/index.html", "www/page.txt", "www/has space.txt", "www/.env", "www/.git/config",
          "www/docs/readme.txt", "www/docs/.hidden", "www/blog/index.html", "www/plain.cgi",
          "www/tool.py", "www/cgi-binx/page.txt", "www/unreadable.txt", "secret.txt",
          "outside_dir/file.txt", "www2/page.txt", "cgi-bin/plain"}) {
        write_file(file, kReadable);
    }
    for (const char* script :
         {"www/script.cgi", "www/LOUD.CGI", "www/app/index.cgi", "www/cgi/env", "www/cgi/sub/x",
          "cgi-bin/env", "cgi-bin/sub/x", "cgi-bin/.hidden", "outside/tool"}) {
        write_file(script, kExecutable);
    }
    fs::permissions(path("www/unreadable.txt"), fs::perms::none);
    fs::create_directories(path("cgi-bin/sub/deeper"));
    fs::create_directories(path("www/index_dir/index.html"));
    fs::create_directories(path("www/index_escape"));
    fs::create_directories(path("www/index_loop"));
    make_symlink("page.txt", "www/inside_link");
    make_symlink("script.cgi", "www/show.txt");
    make_symlink("../secret.txt", "www/escape_link");
    make_symlink("../outside_dir", "www/escape_dir");
    make_symlink("../www2/page.txt", "www/sibling_link");
    make_symlink("../cgi-bin/env", "www/cgi_link");
    make_symlink("cgi/env", "www/cgi_inside_link");
    make_symlink("loop", "www/loop");
    make_symlink("../../secret.txt", "www/index_escape/index.html");
    make_symlink("index.html", "www/index_loop/index.html");
    make_symlink("env", "cgi-bin/alias");
    make_symlink("../outside/tool", "cgi-bin/escape");
    make_symlink("../www/page.txt", "cgi-bin/to_docroot");
    make_symlink("../outside", "cgi-bin/tools");
    make_symlink("sub", "cgi-bin/sub_link");
    make_fifo("www/fifo");
    make_fifo("cgi-bin/fifo");
}

struct ResolveCase {
    std::string raw;
    TargetKind kind;
    int error_number = 0;
};

void expect_kinds(const ResolverConfig& config, const std::vector<ResolveCase>& cases) {
    for (const auto& c : cases) {
        Target target = resolve_target(config, c.raw);
        EXPECT_EQ(target.kind, c.kind) << "raw: " << c.raw;
        EXPECT_EQ(target.error_number, c.error_number) << "raw: " << c.raw;
    }
}

// -- static files --

TEST_F(TargetResolverTest, ServesARegularFileAsAStaticFile) {
    Target target = resolve("/page.txt");
    EXPECT_EQ(target.kind, TargetKind::static_file);
    EXPECT_EQ(target.file_path, path("www/page.txt"));
    EXPECT_EQ(target.url_path, "/page.txt");
    EXPECT_EQ(target.error_number, 0);
}

TEST_F(TargetResolverTest, DecodesTheUrlPathOnceBeforeLookingItUp) {
    Target target = resolve("/has%20space.txt");
    EXPECT_EQ(target.kind, TargetKind::static_file);
    EXPECT_EQ(target.file_path, path("www/has space.txt"));
    EXPECT_EQ(target.url_path, "/has space.txt");
    EXPECT_EQ(resolve("/./docs/../page.txt").file_path, path("www/page.txt"));
}

TEST_F(TargetResolverTest, ReportsUnsafeOrUndecodablePathsAsBadRequest) {
    expect_kinds(config_, {{"/../secret.txt", TargetKind::bad_request},
                           {"/%2e%2e/secret.txt", TargetKind::bad_request},
                           {"/docs%2f..%2f..%2fsecret.txt", TargetKind::bad_request},
                           {"/page.txt%00.html", TargetKind::bad_request},
                           {"/%zz", TargetKind::bad_request},
                           {"page.txt", TargetKind::bad_request}});
    EXPECT_EQ(resolve("/..").url_path, "");
}

TEST_F(TargetResolverTest, ServesTheIndexFileOfTheRoot) {
    Target target = resolve("/");
    EXPECT_EQ(target.kind, TargetKind::static_file);
    EXPECT_EQ(target.file_path, path("www/index.html"));
    EXPECT_EQ(target.url_path, "/");
}

TEST_F(TargetResolverTest, RedirectsADirectoryRequestedWithoutATrailingSlash) {
    Target target = resolve("/blog");
    EXPECT_EQ(target.kind, TargetKind::redirect_to_slash);
    EXPECT_EQ(target.url_path, "/blog");
    EXPECT_EQ(target.file_path, path("www/blog"));
    expect_kinds(config_, {{"/docs", TargetKind::redirect_to_slash},
                           {"/blog/../docs", TargetKind::redirect_to_slash},
                           {"/blog/../docs/.", TargetKind::directory_listing}});
}

TEST_F(TargetResolverTest, ServesTheIndexFileOfADirectoryRequestedWithASlash) {
    Target target = resolve("/blog/");
    EXPECT_EQ(target.kind, TargetKind::static_file);
    EXPECT_EQ(target.file_path, path("www/blog/index.html"));
    EXPECT_EQ(target.url_path, "/blog/");
}

TEST_F(TargetResolverTest, AsksForAListingWhenADirectoryHasNoIndex) {
    Target target = resolve("/docs/");
    EXPECT_EQ(target.kind, TargetKind::directory_listing);
    EXPECT_EQ(target.file_path, path("www/docs"));
    EXPECT_EQ(resolve("/blog/..//docs/./").kind, TargetKind::directory_listing);
}

TEST_F(TargetResolverTest, TriesIndexFilesInOrderAndRunsAScriptIndexThroughItsHandler) {
    config_.index_files = {"missing.html", "index.cgi"};
    EXPECT_EQ(resolve("/app/").kind, TargetKind::static_file);  // no handler: just a file
    config_.cgi_extension_handlers = {{".cgi", ""}};
    Target target = resolve("/app/");
    EXPECT_EQ(target.kind, TargetKind::cgi_script);
    EXPECT_EQ(target.file_path, path("www/app/index.cgi"));
    EXPECT_EQ(target.script_name, "/app/index.cgi");
    EXPECT_EQ(target.path_info, "");
    EXPECT_EQ(target.url_path, "/app/");
}

TEST_F(TargetResolverTest, RefusesAnIndexThatExistsButCannotBeServed) {
    // A listing instead would show what the index was there to hide.
    expect_kinds(config_, {{"/index_dir/", TargetKind::forbidden},
                           {"/index_escape/", TargetKind::forbidden},
                           {"/index_loop/", TargetKind::forbidden, ELOOP}});
}

TEST_F(TargetResolverTest, MapsFilesystemErrorsLikeNginx) {
    expect_kinds(config_, {{"/missing.txt", TargetKind::not_found, ENOENT},
                           {"/missing/page.txt", TargetKind::not_found, ENOENT},
                           {"/page.txt/", TargetKind::not_found, ENOTDIR},
                           {"/page.txt/x", TargetKind::not_found, ENOTDIR},
                           {"/loop", TargetKind::forbidden, ELOOP},
                           {"/" + std::string(300, 'a'), TargetKind::bad_request, ENAMETOOLONG}});
}

TEST_F(TargetResolverTest, RefusesAFileTheServerCannotRead) {
    if (::geteuid() == 0) GTEST_SKIP() << "root can read a mode 000 file";
    expect_kinds(config_, {{"/unreadable.txt", TargetKind::forbidden, EACCES}});
}

TEST_F(TargetResolverTest, RefusesFilesThatAreNeitherRegularNorDirectories) {
    expect_kinds(config_, {{"/fifo", TargetKind::forbidden}});
}

TEST_F(TargetResolverTest, HidesDotfilesUnlessConfiguredToServeThem) {
    std::vector<ResolveCase> hidden = {
        {"/.env", TargetKind::not_found},          {"/.git/config", TargetKind::not_found},
        {"/.git/", TargetKind::not_found},         {"/.git", TargetKind::not_found},
        {"/%2egit/config", TargetKind::not_found}, {"/docs/.hidden", TargetKind::not_found},
        {"/docs/.missing", TargetKind::not_found}};
    expect_kinds(config_, hidden);
    config_.serve_dotfiles = true;
    expect_kinds(config_, {{"/.env", TargetKind::static_file},
                           {"/.git/config", TargetKind::static_file},
                           {"/.git/", TargetKind::directory_listing},
                           {"/docs/.missing", TargetKind::not_found, ENOENT}});
}

TEST_F(TargetResolverTest, FollowsASymlinkThatStaysInsideTheDocroot) {
    Target target = resolve("/inside_link");
    EXPECT_EQ(target.kind, TargetKind::static_file);
    EXPECT_EQ(target.file_path, path("www/page.txt"));
    EXPECT_EQ(target.url_path, "/inside_link");
}

TEST_F(TargetResolverTest, RefusesASymlinkThatEscapesTheDocroot) {
    std::vector<ResolveCase> escaping = {{"/escape_link", TargetKind::forbidden},
                                         {"/escape_dir", TargetKind::forbidden},
                                         {"/escape_dir/", TargetKind::forbidden},
                                         {"/escape_dir/file.txt", TargetKind::forbidden},
                                         // www2 shares a prefix with www but is outside it.
                                         {"/sibling_link", TargetKind::forbidden}};
    expect_kinds(config_, escaping);
}

TEST_F(TargetResolverTest, FollowsAnEscapingSymlinkWhenConfiguredTo) {
    config_.follow_symlinks_outside = true;
    EXPECT_EQ(resolve("/escape_link").file_path, path("secret.txt"));
    expect_kinds(config_, {{"/escape_link", TargetKind::static_file},
                           {"/escape_dir", TargetKind::redirect_to_slash},
                           {"/escape_dir/", TargetKind::directory_listing},
                           {"/escape_dir/file.txt", TargetKind::static_file},
                           {"/sibling_link", TargetKind::static_file}});
}

TEST_F(TargetResolverTest, NeverServesTheCgiDirectoryThroughADocrootSymlink) {
    config_.follow_symlinks_outside = true;
    expect_kinds(config_, {{"/cgi_link", TargetKind::forbidden}});
}

TEST_F(TargetResolverTest, ServesAPrefixThatOnlyLooksLikeTheCgiPrefixAsStatic) {
    Target target = resolve("/cgi-binx/page.txt");
    EXPECT_EQ(target.kind, TargetKind::static_file);
    EXPECT_EQ(target.file_path, path("www/cgi-binx/page.txt"));
}

// -- scripts in the docroot, by extension --

TEST_F(TargetResolverTest, RunsScriptsInTheDocrootByExtension) {
    config_.cgi_extension_handlers = {{".cgi", ""}, {".py", "/usr/bin/python3"}};
    Target direct = resolve("/script.cgi");
    EXPECT_EQ(direct.kind, TargetKind::cgi_script);
    EXPECT_EQ(direct.file_path, path("www/script.cgi"));
    EXPECT_EQ(direct.script_name, "/script.cgi");
    EXPECT_EQ(direct.path_info, "");
    EXPECT_EQ(direct.interpreter, "");

    // Run through an interpreter, the script only needs to be readable.
    Target interpreted = resolve("/tool.py");
    EXPECT_EQ(interpreted.kind, TargetKind::cgi_script);
    EXPECT_EQ(interpreted.interpreter, "/usr/bin/python3");
    EXPECT_EQ(interpreted.script_name, "/tool.py");
}

TEST_F(TargetResolverTest, MatchesHandlerExtensionsIgnoringCase) {
    config_.cgi_extension_handlers = {{".cgi", ""}};
    EXPECT_EQ(resolve("/LOUD.CGI").kind, TargetKind::cgi_script);
}

TEST_F(TargetResolverTest, RefusesANonExecutableScriptThatWouldRunDirectly) {
    config_.cgi_extension_handlers = {{".cgi", ""}};
    expect_kinds(config_, {{"/plain.cgi", TargetKind::forbidden, EACCES}});
}

TEST_F(TargetResolverTest, TakesTheExtensionFromTheFileASymlinkPointsTo) {
    // Otherwise "show.txt -> script.cgi" would disclose the script's source.
    config_.cgi_extension_handlers = {{".cgi", ""}};
    Target target = resolve("/show.txt");
    EXPECT_EQ(target.kind, TargetKind::cgi_script);
    EXPECT_EQ(target.file_path, path("www/script.cgi"));
    EXPECT_EQ(target.script_name, "/show.txt");
}

TEST_F(TargetResolverTest, GivesHandlerScriptsPathInfoLikeTheCgiDirectory) {
    // A PHP front controller's "/index.php/route", as Apache and lighttpd run it.
    config_.cgi_extension_handlers = {{".cgi", ""}};
    struct Case {
        std::string raw, script_name, path_info, file;
    };
    for (const Case& c : std::vector<Case>{
             {"/script.cgi/extra", "/script.cgi", "/extra", "www/script.cgi"},
             {"/script.cgi/", "/script.cgi", "/", "www/script.cgi"},
             {"/app/index.cgi/a/b/", "/app/index.cgi", "/a/b/", "www/app/index.cgi"},
             {"/script.cgi/a%20b/%C3%A9", "/script.cgi", "/a b/\xC3\xA9", "www/script.cgi"},
             // Hidden names after the script are the script's business, not files of ours.
             {"/script.cgi/.well-known/x", "/script.cgi", "/.well-known/x", "www/script.cgi"},
             // The extension is the link's target's, the name the one asked for.
             {"/show.txt/extra", "/show.txt", "/extra", "www/script.cgi"},
         }) {
        Target target = resolve(c.raw);
        EXPECT_EQ(target.kind, TargetKind::cgi_script) << c.raw;
        EXPECT_EQ(target.script_name, c.script_name) << c.raw;
        EXPECT_EQ(target.path_info, c.path_info) << c.raw;
        EXPECT_EQ(target.file_path, path(c.file)) << c.raw;
    }
}

TEST_F(TargetResolverTest, RefusesPathInfoAfterAnythingButAHandlerScript) {
    config_.cgi_extension_handlers = {{".cgi", ""}};
    expect_kinds(config_, {// A static file with more path is missing, as in Apache.
                           {"/page.txt/extra", TargetKind::not_found, ENOTDIR},
                           {"/docs/readme.txt/x.cgi", TargetKind::not_found, ENOTDIR},
                           {"/missing.cgi/extra", TargetKind::not_found, ENOENT},
                           {"/docs/missing/x", TargetKind::not_found, ENOENT},
                           // Hidden names before the script still hide.
                           {"/.git/config/x", TargetKind::not_found},
                           {"/docs/.hidden/x", TargetKind::not_found},
                           {"/.env", TargetKind::not_found},
                           // The script's own rules still apply.
                           {"/plain.cgi/extra", TargetKind::forbidden, EACCES},
                           {"/escape_link/x", TargetKind::forbidden},
                           {"/cgi_link/x", TargetKind::forbidden},
                           {"/loop/x", TargetKind::forbidden, ELOOP}});
    // Without a handler nothing changes: the path is simply not there.
    config_.cgi_extension_handlers.clear();
    expect_kinds(config_, {{"/script.cgi/extra", TargetKind::not_found, ENOTDIR},
                           {"/docs/.hidden/x", TargetKind::not_found}});
}

TEST_F(TargetResolverTest, ServesScriptsAsFilesWhenNoHandlerIsConfigured) {
    expect_kinds(config_, {{"/script.cgi", TargetKind::static_file}});
}

// -- the CGI directory --

TEST_F(TargetResolverTest, RunsAScriptFromTheCgiDirectory) {
    Target target = resolve("/cgi-bin/env");
    EXPECT_EQ(target.kind, TargetKind::cgi_script);
    EXPECT_EQ(target.file_path, path("cgi-bin/env"));
    EXPECT_EQ(target.url_path, "/cgi-bin/env");
    EXPECT_EQ(target.script_name, "/cgi-bin/env");
    EXPECT_EQ(target.path_info, "");
    EXPECT_EQ(target.interpreter, "");
}

struct CgiCase {
    std::string raw;
    std::string script_name;
    std::string path_info;
};

TEST_F(TargetResolverTest, SplitsScriptNameFromPathInfo) {
    const std::vector<CgiCase> cases = {
        {"/cgi-bin/env/a/b", "/cgi-bin/env", "/a/b"},
        {"/cgi-bin/env/", "/cgi-bin/env", "/"},
        {"/cgi-bin/env/a/b/", "/cgi-bin/env", "/a/b/"},
        {"/cgi-bin/env/a%20b/c%3Fd", "/cgi-bin/env", "/a b/c?d"},
        {"/cgi-bin/env/x//y/./z", "/cgi-bin/env", "/x/y/z"},
        {"/cgi-bin/env/x/../y", "/cgi-bin/env", "/y"},
        {"/cgi-bin/env/.well-known/x", "/cgi-bin/env", "/.well-known/x"},
        {"/cgi-bin/env/env", "/cgi-bin/env", "/env"},
        {"/cgi-bin/sub/x", "/cgi-bin/sub/x", ""},
        {"/cgi-bin/sub/x/y", "/cgi-bin/sub/x", "/y"},
    };
    for (const auto& c : cases) {
        Target target = resolve(c.raw);
        EXPECT_EQ(target.kind, TargetKind::cgi_script) << c.raw;
        EXPECT_EQ(target.script_name, c.script_name) << c.raw;
        EXPECT_EQ(target.path_info, c.path_info) << c.raw;
    }
}

TEST_F(TargetResolverTest, FindsTheCgiPrefixAfterNormalising) {
    for (const char* raw :
         {"/cgi-bin//env", "/cgi-bin/./env", "/x/../cgi-bin/env", "/%63gi-bin/env",
          "/cgi%2Dbin/%65nv", "//cgi-bin/env", "/cgi-bin/sub/../env"}) {
        Target target = resolve(raw);
        EXPECT_EQ(target.kind, TargetKind::cgi_script) << raw;
        EXPECT_EQ(target.script_name, "/cgi-bin/env") << raw;
        EXPECT_EQ(target.file_path, path("cgi-bin/env")) << raw;
    }
}

TEST_F(TargetResolverTest, RunsASymlinkedScriptThatStaysInsideTheCgiDirectory) {
    Target target = resolve("/cgi-bin/alias/p");
    EXPECT_EQ(target.kind, TargetKind::cgi_script);
    EXPECT_EQ(target.file_path, path("cgi-bin/env"));
    EXPECT_EQ(target.script_name, "/cgi-bin/alias");
    EXPECT_EQ(target.path_info, "/p");
}

TEST_F(TargetResolverTest, RefusesCgiDirectoriesAndNonExecutables) {
    expect_kinds(config_, {{"/cgi-bin", TargetKind::forbidden},
                           {"/cgi-bin/", TargetKind::forbidden},
                           {"/cgi-bin/sub", TargetKind::forbidden},
                           {"/cgi-bin/sub/", TargetKind::forbidden},
                           {"/cgi-bin/sub/deeper/", TargetKind::forbidden},
                           {"/cgi-bin/plain", TargetKind::forbidden, EACCES},
                           {"/cgi-bin/plain/x", TargetKind::forbidden, EACCES},
                           {"/cgi-bin/fifo", TargetKind::forbidden}});
}

TEST_F(TargetResolverTest, ReportsMissingScriptsAsNotFound) {
    expect_kinds(config_,
                 {{"/cgi-bin/missing", TargetKind::not_found, ENOENT},
                  {"/cgi-bin/missing/x", TargetKind::not_found, ENOENT},
                  {"/cgi-bin/sub/missing", TargetKind::not_found, ENOENT},
                  {"/cgi-bin/sub/deeper/x", TargetKind::not_found, ENOENT},
                  {"/cgi-bin/" + std::string(300, 'a'), TargetKind::bad_request, ENAMETOOLONG}});
}

TEST_F(TargetResolverTest, NeverRunsHiddenFilesEvenWhenDotfilesAreServed) {
    config_.serve_dotfiles = true;
    expect_kinds(config_, {{"/cgi-bin/.hidden", TargetKind::not_found},
                           {"/cgi-bin/%2ehidden", TargetKind::not_found},
                           {"/cgi-bin/sub/.x", TargetKind::not_found}});
}

TEST_F(TargetResolverTest, RunsAScriptSymlinkToAnExecutableAnywhere) {
    // git's documented `ln -s /usr/lib/git-core/git-http-backend cgi-bin/git`.
    Target target = resolve("/cgi-bin/escape/info/refs");
    EXPECT_EQ(target.kind, TargetKind::cgi_script);
    EXPECT_EQ(target.file_path, path("outside/tool"));
    EXPECT_EQ(target.script_name, "/cgi-bin/escape");
    EXPECT_EQ(target.path_info, "/info/refs");
    // Still only executables: a link to a page is not run.
    expect_kinds(config_, {{"/cgi-bin/to_docroot", TargetKind::forbidden, EACCES}});
}

TEST_F(TargetResolverTest, DoesNotOpenADirectoryOfProgramsThroughADirectorySymlink) {
    // "cgi-bin/tools -> /usr/bin" must not make /cgi-bin/tools/sh a script: only a link that
    // names the program itself may leave the CGI directory.
    expect_kinds(config_, {{"/cgi-bin/tools/tool", TargetKind::forbidden},
                           {"/cgi-bin/tools/tool/x", TargetKind::forbidden}});
    // A directory link that stays inside is just another way to the same scripts.
    Target inside = resolve("/cgi-bin/sub_link/x/more");
    EXPECT_EQ(inside.kind, TargetKind::cgi_script);
    EXPECT_EQ(inside.file_path, path("cgi-bin/sub/x"));
    EXPECT_EQ(inside.path_info, "/more");
    config_.follow_symlinks_outside = true;
    EXPECT_EQ(resolve("/cgi-bin/tools/tool").kind, TargetKind::cgi_script);
}

TEST_F(TargetResolverTest, RefusesAScriptSymlinkThatEscapesTheCgiDirectoryWhenTold) {
    config_.cgi_follow_symlinks = false;
    expect_kinds(config_, {{"/cgi-bin/escape", TargetKind::forbidden},
                           {"/cgi-bin/to_docroot", TargetKind::forbidden}});
    EXPECT_EQ(resolve("/cgi-bin/alias").kind, TargetKind::cgi_script);  // a link inside is fine
    config_.follow_symlinks_outside = true;
    Target target = resolve("/cgi-bin/escape");
    EXPECT_EQ(target.kind, TargetKind::cgi_script);
    EXPECT_EQ(target.file_path, path("outside/tool"));
}

TEST_F(TargetResolverTest, TreatsTheCgiPrefixAsStaticWhenCgiIsOff) {
    config_.cgi_url_prefix.clear();
    expect_kinds(config_, {{"/cgi-bin/env", TargetKind::not_found, ENOENT}});
}

// -- the cgi directory inside the docroot --

TEST_F(TargetResolverTest, RunsScriptsFromACgiDirectoryInsideTheDocroot) {
    ResolverConfig nested = nested_cgi_config();
    Target target = resolve_target(nested, "/cgi-bin/sub/x/y");
    EXPECT_EQ(target.kind, TargetKind::cgi_script);
    EXPECT_EQ(target.file_path, path("www/cgi/sub/x"));
    EXPECT_EQ(target.path_info, "/y");
    nested.cgi_url_prefix = "/cgi";  // the prefix may also be the directory's own name
    EXPECT_EQ(resolve_target(nested, "/cgi/env").kind, TargetKind::cgi_script);
}

TEST_F(TargetResolverTest, RefusesStaticAccessToACgiDirectoryInsideTheDocroot) {
    expect_kinds(nested_cgi_config(), {{"/cgi", TargetKind::forbidden},
                                       {"/cgi/", TargetKind::forbidden},
                                       {"/cgi/env", TargetKind::forbidden},
                                       {"/cgi/sub/", TargetKind::forbidden},
                                       {"/cgi_inside_link", TargetKind::forbidden}});
}

// -- a script's source is never served, whatever the spelling --

// Every outcome is acceptable except handing out a file from the script directory as content.
void expect_source_never_served(const ResolverConfig& config,
                                const std::vector<std::string>& raws) {
    for (const auto& raw : raws) {
        Target target = resolve_target(config, raw);
        EXPECT_NE(target.kind, TargetKind::static_file) << raw;
        EXPECT_NE(target.kind, TargetKind::directory_listing) << raw;
        EXPECT_NE(target.kind, TargetKind::redirect_to_slash) << raw;
    }
}

const std::vector<std::string> kSpellingsOfEnv = {
    "/cgi-bin/env",        "/cgi-bin//env",      "/cgi-bin/./env",    "/%63gi-bin/env",
    "/cgi-bin/%65nv",      "/cgi-bin/%65%6E%76", "/cgi-bin/env.",     "/cgi-bin/env%20",
    "/cgi-bin/env%2e",     "/cgi-bin/env/",      "/cgi-bin/env%2f",   "/cgi-bin%2fenv",
    "/cgi-bin%2Fenv",      "/cgi-bin%5cenv",     "/cgi-bin\\env",     "/cgi-bin/env%00",
    "/CGI-BIN/env",        "/cgi-bin/ENV",       "/x/../cgi-bin/env", "/%2e/cgi-bin/env",
    "/cgi-bin/sub/../env", "/cgi-bin/./",        "/cgi-bin",          "/cgi-bin/sub",
    "/cgi-bin/plain",      "/cgi-bin/plain.",    "/cgi-bin/.hidden",  "/cgi-bin/%2ehidden",
    "/cgi-bin/env::$DATA", "/cgi-bin/env~",      "/cgi_link",         "/../cgi-bin/env",
};

TEST_F(TargetResolverTest, NeverServesScriptSourceThroughAnySpelling) {
    for (const auto& raw : kSpellingsOfEnv) {
        Target target = resolve(raw);
        bool runs = target.kind == TargetKind::cgi_script;
        EXPECT_TRUE(runs || target.kind == TargetKind::not_found ||
                    target.kind == TargetKind::forbidden || target.kind == TargetKind::bad_request)
            << raw << " -> " << target.kind;
        if (runs) {
            EXPECT_EQ(target.script_name, "/cgi-bin/env") << raw;  // only exact spellings
        }
    }
    expect_kinds(config_, {{"/cgi-bin/env.", TargetKind::not_found, ENOENT},
                           {"/cgi-bin/env%20", TargetKind::not_found, ENOENT},
                           {"/cgi-bin/ENV", TargetKind::not_found, ENOENT}});
}

TEST_F(TargetResolverTest, NeverServesScriptSourceEvenWithEveryPermissiveOption) {
    config_.serve_dotfiles = true;
    config_.follow_symlinks_outside = true;
    expect_source_never_served(config_, kSpellingsOfEnv);
}

TEST_F(TargetResolverTest, NeverServesNestedScriptSourceThroughAnySpelling) {
    ResolverConfig nested = nested_cgi_config();
    nested.serve_dotfiles = true;
    nested.follow_symlinks_outside = true;
    expect_source_never_served(
        nested,
        {"/cgi/env",   "/cgi//env",     "/cgi/./env",   "/%63gi/env",       "/cgi/%65nv",
         "/cgi/env.",  "/cgi/env%20",   "/cgi/env/",    "/cgi/env%2f",      "/cgi%2fenv",
         "/CGI/env",   "/cgi",          "/cgi/",        "/cgi/sub",         "/cgi/sub/",
         "/cgi/sub/x", "/x/../cgi/env", "/%2e/cgi/env", "/cgi_inside_link", "/cgi-bin/../cgi/env",
         "/cgi-bin/",  "/cgi-bin"});
}

}  // namespace
}  // namespace cgihost
