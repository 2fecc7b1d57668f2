#include "data_files.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <string>
#include <system_error>

namespace samples {
namespace {

[[noreturn]] void throw_errno(const std::string& what) {
    throw std::system_error(errno, std::generic_category(), what);
}

}  // namespace

void FileDescriptor::reset(int fd) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = fd;
}

std::filesystem::path data_directory() {
    if (const char* configured = std::getenv("CGIHOST_DATA_DIR");
        configured != nullptr && *configured != '\0') {
        return configured;
    }
    // /proc/self/exe rather than argv[0]: the server may run us by any path or name.
    std::filesystem::path executable = std::filesystem::read_symlink("/proc/self/exe");
    return (executable.parent_path() / ".." / "data").lexically_normal();
}

std::filesystem::path data_subdirectory(std::string_view name) {
    std::filesystem::path directory = data_directory() / name;
    std::filesystem::create_directories(directory);  // throws filesystem_error, a system_error
    return directory;
}

bool write_all(int fd, std::string_view bytes) {
    while (!bytes.empty()) {
        ssize_t written = ::write(fd, bytes.data(), bytes.size());
        if (written < 0) {
            if (errno == EINTR) continue;
            return false;
        }
        bytes.remove_prefix(static_cast<size_t>(written));
    }
    return true;
}

void replace_file(const std::filesystem::path& path, std::string_view content) {
    std::string temporary = (path.parent_path() / ".tmp-XXXXXX").string();
    FileDescriptor fd(::mkstemp(temporary.data()));
    if (!fd) throw_errno("cannot create a file in " + path.parent_path().string());
    // fsync before rename: otherwise a crash can leave the new name pointing at an empty file.
    bool written =
        ::fchmod(fd.get(), 0644) == 0 && write_all(fd.get(), content) && ::fsync(fd.get()) == 0;
    int saved_errno = errno;
    fd.reset();
    if (!written || ::rename(temporary.c_str(), path.c_str()) != 0) {
        if (written) saved_errno = errno;
        ::unlink(temporary.c_str());
        errno = saved_errno;
        throw_errno("cannot write " + path.string());
    }
}

}  // namespace samples
