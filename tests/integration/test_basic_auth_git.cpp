// Basic authentication proven with a real client: `git push` over HTTP through Git's own
// CGI program, git-http-backend, to a bare repository under a protected prefix. With
// http.receivepack at its default, git-http-backend accepts a push only when the server has
// set REMOTE_USER, so a push that works shows that authentication reached the script.
#include <gtest/gtest.h>
#include <unistd.h>

#include "auth_fixture.hpp"

namespace cgihost::testing {
namespace {

constexpr const char* kBackend = "/usr/lib/git-core/git-http-backend";

class GitPush : public AuthTest {
  protected:
    void SetUp() override {
        if (::access(kBackend, X_OK) != 0) GTEST_SKIP() << "needs git (git-http-backend)";
        if (run_command("command -v htpasswd || echo missing").find("missing") !=
            std::string::npos) {
            GTEST_SKIP() << "needs htpasswd (apache2-utils)";
        }
        const std::string repos = site_.file("repos");
        run_command("git init -q --bare '" + repos + "/site.git' 2>&1");
        // As git's documentation deploys it: a symlink to the backend, configured by environment.
        std::filesystem::create_symlink(kBackend, site_ / "cgi-bin/git");
        add_bcrypt_user("git.htpasswd", "alice", "pushing it");
        std::vector<std::string> args{"--basic-auth",  "/cgi-bin/git=" + site_.file("git.htpasswd"),
                                      "--cgi-env-set", "GIT_PROJECT_ROOT=" + repos,
                                      "--cgi-env-set", "GIT_HTTP_EXPORT_ALL=1"};
        if (::geteuid() == 0) {
            // Scripts run as another user, who must own the repository to write to it (and
            // git refuses to work in a repository that someone else owns).
            run_command("chown -R nobody: '" + repos + "'");
            args.insert(args.end(), {"--user", "www-data", "--cgi-user", "nobody"});
        }
        start(args);
        const std::string work = site_.file("work");
        run_command("git init -q -b main '" + work + "' && cd '" + work +
                    "' && echo hello > file && git add file && "
                    "git -c user.name=Test -c user.email=test@example.org commit -q -m first 2>&1");
    }

    // Runs `git push` to `url` from the work tree with `helper` as its only credential helper
    // ("" for none); returns its exit status, its output in `out`.
    int push(const std::string& url, std::string& out, const std::string& helper = "") const {
        const std::string command = "cd '" + site_.file("work") +
                                    "' && GIT_TERMINAL_PROMPT=0 GIT_ASKPASS=/bin/false "
                                    "git -c credential.helper= -c credential.helper='" +
                                    helper + "' push '" + url + "' main 2>&1";
        FILE* pipe = ::popen(command.c_str(), "r");
        if (pipe == nullptr) return -1;
        char buffer[4096];
        size_t n = 0;
        while ((n = std::fread(buffer, 1, sizeof buffer, pipe)) > 0)
            out.append(buffer, n);
        return ::pclose(pipe);
    }

    std::string url(const std::string& credentials) const {
        return "http://" + credentials + "127.0.0.1:" + std::to_string(port()) +
               "/cgi-bin/git/site.git";
    }

    std::string pushed_head() const {
        return run_command("git --git-dir='" + site_.file("repos/site.git") +
                           "' log --format=%s main 2>&1");
    }
};

TEST_F(GitPush, IsRefusedWithoutCredentials) {
    std::string out;
    EXPECT_NE(push(url(""), out), 0) << out;
    // git asks for a user name only after a 401, and may not ask anyone here.
    EXPECT_NE(out.find("could not read Username"), std::string::npos) << out;
    ASSERT_TRUE(wait_until([&] {
        return server_->access_log().find("service=git-receive-pack HTTP/1.1\" 401") !=
               std::string::npos;
    }));
    EXPECT_EQ(run_command("git --git-dir='" + site_.file("repos/site.git") +
                          "' rev-parse --verify -q main || echo none"),
              "none\n");
}

TEST_F(GitPush, IsRefusedWithAWrongPassword) {
    std::string out;
    EXPECT_NE(push(url("alice:wrong@"), out), 0) << out;
    EXPECT_NE(out.find("Authentication failed"), std::string::npos) << out;
    EXPECT_EQ(run_command("git --git-dir='" + site_.file("repos/site.git") +
                          "' rev-parse --verify -q main || echo none"),
              "none\n");
}

TEST_F(GitPush, WorksWithCredentialsInTheUrl) {
    std::string out;
    ASSERT_EQ(push(url("alice:pushing%20it@"), out), 0) << out;
    EXPECT_EQ(pushed_head(), "first\n");
    ASSERT_TRUE(wait_until([&] {
        return server_->access_log().find("- alice [") != std::string::npos &&
               server_->access_log().find("POST /cgi-bin/git/site.git/git-receive-pack") !=
                   std::string::npos;
    }));
}

TEST_F(GitPush, WorksWithACredentialHelper) {
    std::string out;
    const std::string helper = "!f() { echo username=alice; echo password=pushing it; }; f";
    ASSERT_EQ(push(url(""), out, helper), 0) << out;
    EXPECT_EQ(pushed_head(), "first\n");
}

}  // namespace
}  // namespace cgihost::testing
