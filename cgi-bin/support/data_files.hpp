// Where the samples that keep state (upload, download, chat, background) put their files, and
// the few POSIX file operations they share. The data directory is never inside cgi-bin/ or
// www/: what a client stored must not become a program or a page the server serves as its own.
#pragma once

#include <filesystem>
#include <string_view>
#include <utility>

namespace samples {

// Owns one file descriptor and closes it once; move-only.
class FileDescriptor {
  public:
    FileDescriptor() = default;
    explicit FileDescriptor(int fd) : fd_(fd) {}
    ~FileDescriptor() { reset(); }
    FileDescriptor(FileDescriptor&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}
    FileDescriptor& operator=(FileDescriptor&& other) noexcept {
        if (this != &other) {
            reset();
            fd_ = std::exchange(other.fd_, -1);
        }
        return *this;
    }
    FileDescriptor(const FileDescriptor&) = delete;
    FileDescriptor& operator=(const FileDescriptor&) = delete;

    int get() const { return fd_; }
    explicit operator bool() const { return fd_ >= 0; }
    void reset(int fd = -1);
    // Gives up ownership without closing, for a caller that must see close(2)'s result.
    int release() { return std::exchange(fd_, -1); }

  private:
    int fd_ = -1;
};

// CGIHOST_DATA_DIR when set, else <directory of this executable>/../data, which is
// build-release/data when scripts/serve runs the samples from build-release/cgi-bin.
std::filesystem::path data_directory();

// data_directory()/name, created with its parents when missing. Throws std::system_error.
std::filesystem::path data_subdirectory(std::string_view name);

// Writes every byte, going on after short writes and EINTR. False (errno set) on an error.
bool write_all(int fd, std::string_view bytes);

// Replaces `path` with a file holding `content` so that a reader sees the old file or the new
// one, never a part: a temporary file in the same directory, fsync, rename(2) over `path`.
// Throws std::system_error; the temporary file is gone either way.
void replace_file(const std::filesystem::path& path, std::string_view content);

}  // namespace samples
