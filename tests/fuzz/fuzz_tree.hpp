// A small document tree in a temporary directory, shared by the fuzz targets that touch the
// filesystem (fuzz_url_path, fuzz_request). It holds what path resolution must get right:
// files, an index, a dotfile, a CGI directory inside the docroot, and symlinks that stay
// inside, leave the docroot, or lead a static URL into the CGI directory.
//   <root>/www/{index.html, page.txt, empty.txt, .secret, sub/inner.txt, run.sh (a .sh handler)}
//   <root>/www/cgi-bin/{hello (executable), notes.txt}     ← the CGI directory
//   <root>/www/{inside -> page.txt, escape -> ../outside.txt, to_cgi -> cgi-bin, loop -> loop}
//   <root>/outside.txt
#pragma once

#include <stdlib.h>
#include <sys/stat.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

namespace cgihost::fuzz {

class FuzzTree {
  public:
    FuzzTree() {
        std::string pattern = std::filesystem::temp_directory_path() / "cgihost_fuzz.XXXXXX";
        if (::mkdtemp(pattern.data()) == nullptr) std::abort();
        // realpath'd, as the server resolves its roots once at startup.
        root_ = std::filesystem::canonical(pattern);
        write("www/index.html", "<p>index</p>\n");
        write("www/page.txt", "0123456789abcdefghijklmnopqrstuvwxyz\n");
        write("www/empty.txt", "");
        write("www/.secret", "dotfile\n");
        write("www/sub/inner.txt", "inner\n");
        write("www/cgi-bin/notes.txt", "not a script\n");
        write("www/cgi-bin/hello",
              "#!/bin/sh\nprintf 'Content-Type: text/plain\\r\\n\\r\\nhi\\n'\n");
        ::chmod((root_ / "www/cgi-bin/hello").c_str(), 0755);
        write("www/run.sh", "printf 'Status: 201 Made\\nContent-Type: text/plain\\n\\n'\n");
        write("outside.txt", "outside the docroot\n");
        std::filesystem::create_symlink("page.txt", root_ / "www/inside");
        std::filesystem::create_symlink("../outside.txt", root_ / "www/escape");
        std::filesystem::create_symlink("cgi-bin", root_ / "www/to_cgi");
        std::filesystem::create_symlink("loop", root_ / "www/loop");
    }
    ~FuzzTree() {
        std::error_code ignored;
        std::filesystem::remove_all(root_, ignored);
    }
    FuzzTree(const FuzzTree&) = delete;
    FuzzTree& operator=(const FuzzTree&) = delete;

    std::string docroot() const { return root_ / "www"; }
    std::string cgi_dir() const { return root_ / "www/cgi-bin"; }

  private:
    void write(const std::string& relative, const std::string& content) const {
        std::filesystem::create_directories((root_ / relative).parent_path());
        std::ofstream(root_ / relative, std::ios::binary) << content;
    }

    std::filesystem::path root_;
};

// Whether `path` is `root` or lies below it.
inline bool is_inside(const std::string& path, const std::string& root) {
    return path == root || (path.size() > root.size() && path.compare(0, root.size(), root) == 0 &&
                            path[root.size()] == '/');
}

}  // namespace cgihost::fuzz
