// git runs unchanged: Git's own CGI program, git-http-backend, reached through a symlink in
// cgi-bin as git's documentation sets it up (`ln -s /usr/lib/git-core/git-http-backend
// cgi-bin/git`), configured only by environment variables from --cgi-env-set. The real git
// client clones, pushes 20 MiB of incompressible data, clones shallow and speaks protocol v2.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "app_fixture.hpp"
#include "sha256.hpp"

namespace cgihost::testing {
namespace {

constexpr const char* kBackend = "/usr/lib/git-core/git-http-backend";

class GitApp : public CgiTest {
  protected:
    void SetUp() override {
        if (!is_executable(kBackend)) GTEST_SKIP() << "needs git (git-http-backend)";
        const std::string repos = site_.file("repos");
        std::filesystem::create_directories(repos);
        ASSERT_EQ(git("init -q --bare -b main " + shell_quote(repos + "/site.git")).exit_status, 0);
        // Anyone may push: no REMOTE_USER is needed (test_basic_auth_git covers that way).
        ASSERT_EQ(
            git("--git-dir=" + shell_quote(repos + "/site.git") + " config http.receivepack true")
                .exit_status,
            0);
        // The scripts' user writes the repository, and git refuses one someone else owns.
        if (::geteuid() == 0) run_shell("chown -R nobody: " + shell_quote(repos));
        std::filesystem::create_symlink(kBackend, site_ / "cgi-bin/git");

        std::vector<std::string> args = privilege_flags();
        args.insert(args.end(), {"--cgi-env-set", "GIT_PROJECT_ROOT=" + repos, "--cgi-env-set",
                                 "GIT_HTTP_EXPORT_ALL=1"});
        start(args);
        ASSERT_EQ(git("init -q -b main " + shell_quote(work())).exit_status, 0);
    }

    // git with no system or global configuration (nothing of the machine's user leaks in), never
    // prompting; `arguments` are appended as they are (quote them).
    static ShellResult git(const std::string& arguments) {
        return run_shell(
            "GIT_CONFIG_NOSYSTEM=1 GIT_CONFIG_GLOBAL=/dev/null "
            "GIT_TERMINAL_PROMPT=0 git -c user.name=Test "
            "-c user.email=test@example.org " +
            arguments);
    }

    std::string work() const { return site_.file("work"); }
    std::string url() const {
        return "http://127.0.0.1:" + std::to_string(port()) + "/cgi-bin/git/site.git";
    }
    std::string in(const std::string& directory) const { return "-C " + shell_quote(directory); }

    // Writes `content` as `name` in the work tree and commits it with `message`.
    void commit(const std::string& name, const std::string& content, const std::string& message) {
        site_.write_file("work/" + name, content);
        ASSERT_EQ(git(in(work()) + " add " + shell_quote(name)).exit_status, 0);
        auto result = git(in(work()) + " commit -q -m " + shell_quote(message));
        ASSERT_EQ(result.exit_status, 0) << result.output;
    }

    void push() const {
        auto result = git(in(work()) + " push -q " + shell_quote(url()) + " main");
        ASSERT_EQ(result.exit_status, 0) << result.output << server_->error_log();
    }

    std::string head_of(const std::string& repository) const {
        return git(in(repository) + " rev-parse HEAD").output;
    }
};

TEST_F(GitApp, PushOfTwentyMebibytesComesBackIdenticalInAClone) {
    const std::string big = pseudo_random_bytes(20 * kMiB, 56);
    commit("README", "hello\n", "first");
    commit("big.bin", big, "twenty mebibytes");
    push();
    EXPECT_EQ(
        git("--git-dir=" + shell_quote(site_.file("repos/site.git")) + " log --format=%s main")
            .output,
        "twenty mebibytes\nfirst\n");

    const std::string clone = site_.file("clone");
    auto result = git("clone -q " + shell_quote(url()) + " " + shell_quote(clone));
    ASSERT_EQ(result.exit_status, 0) << result.output;
    EXPECT_EQ(head_of(clone), head_of(work()));
    EXPECT_EQ(sha256_hex(read_file(clone + "/big.bin")), sha256_hex(big));
    EXPECT_EQ(read_file(clone + "/README"), "hello\n");
    // The pack went up as one large request body.
    EXPECT_NE(server_->access_log().find("POST /cgi-bin/git/site.git/git-receive-pack"),
              std::string::npos);
}

TEST_F(GitApp, ShallowCloneHasOnlyTheLastCommit) {
    for (int i = 1; i <= 3; ++i)
        commit("file", "version " + std::to_string(i) + "\n", "commit " + std::to_string(i));
    push();

    const std::string clone = site_.file("shallow");
    auto result = git("clone -q --depth 1 " + shell_quote(url()) + " " + shell_quote(clone));
    ASSERT_EQ(result.exit_status, 0) << result.output;
    EXPECT_EQ(git(in(clone) + " rev-parse --is-shallow-repository").output, "true\n");
    EXPECT_EQ(git(in(clone) + " rev-list --count HEAD").output, "1\n");
    EXPECT_EQ(read_file(clone + "/file"), "version 3\n");
    EXPECT_EQ(head_of(clone), head_of(work()));
}

// The client asks for v2 in a Git-Protocol header; git-http-backend speaks it only when that
// header reached it as HTTP_GIT_PROTOCOL (which it hands to git as GIT_PROTOCOL).
TEST_F(GitApp, ProtocolVersionTwoReachesTheBackend) {
    commit("file", "v2\n", "for v2");
    push();

    auto listed = git("-c protocol.version=2 ls-remote " + shell_quote(url()));
    ASSERT_EQ(listed.exit_status, 0) << listed.output;
    EXPECT_NE(listed.output.find("refs/heads/main"), std::string::npos) << listed.output;

    auto traced = run_shell(
        "GIT_TRACE_PACKET=1 GIT_CONFIG_NOSYSTEM=1 GIT_CONFIG_GLOBAL=/dev/null "
        "git -c protocol.version=2 ls-remote " +
        shell_quote(url()));
    ASSERT_EQ(traced.exit_status, 0) << traced.output;
    EXPECT_NE(traced.output.find("git< version 2"), std::string::npos) << traced.output;
    // The v2 commands, not v0's ref advertisement with capabilities after a NUL.
    EXPECT_NE(traced.output.find("> command=ls-refs"), std::string::npos) << traced.output;

    const std::string clone = site_.file("clone-v2");
    auto cloned = run_shell(
        "GIT_TRACE_PACKET=1 GIT_CONFIG_NOSYSTEM=1 GIT_CONFIG_GLOBAL=/dev/null "
        "git -c protocol.version=2 clone " +
        shell_quote(url()) + " " + shell_quote(clone));
    ASSERT_EQ(cloned.exit_status, 0) << cloned.output;
    EXPECT_NE(cloned.output.find("> command=fetch"), std::string::npos) << cloned.output;
    EXPECT_EQ(read_file(clone + "/file"), "v2\n");
}

TEST_F(GitApp, ProtocolVersionZeroStillWorks) {
    commit("file", "v0\n", "for v0");
    push();
    auto traced = run_shell(
        "GIT_TRACE_PACKET=1 GIT_CONFIG_NOSYSTEM=1 GIT_CONFIG_GLOBAL=/dev/null "
        "git -c protocol.version=0 ls-remote " +
        shell_quote(url()));
    ASSERT_EQ(traced.exit_status, 0) << traced.output;
    EXPECT_EQ(traced.output.find("version 2"), std::string::npos) << traced.output;
    EXPECT_NE(traced.output.find("refs/heads/main"), std::string::npos) << traced.output;
}

TEST_F(GitApp, AMissingRepositoryIsA404) {
    auto result = git("ls-remote " + shell_quote("http://127.0.0.1:" + std::to_string(port()) +
                                                 "/cgi-bin/git/nothing.git"));
    EXPECT_NE(result.exit_status, 0);
    ASSERT_TRUE(wait_until([&] {
        return server_->access_log().find(
                   "GET /cgi-bin/git/nothing.git/info/refs"
                   "?service=git-upload-pack HTTP/1.1\" 404") != std::string::npos;
    }));
}

}  // namespace
}  // namespace cgihost::testing
