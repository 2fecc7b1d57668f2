// upload: receives one or several files and a description from a multipart/form-data form
// (RFC 7578; www/upload.html) and stores them in <data>/uploads/, where `download` lists them.
//
// Shows what a CGI program must get right before it trusts an upload:
//   - the size is checked against CONTENT_LENGTH before a byte is read (413), because cgicc
//     keeps the whole body in memory, and the client's file name is never used as a path: it
//     is cut to its last component and reduced to [A-Za-z0-9._-] with no leading dot;
//   - a file is never half there: it is written to a temporary file in the same directory,
//     fsync'ed, and only then linked under its final name, and link(2) refuses to replace an
//     existing file, so a second "report.pdf" becomes "report-1.pdf" instead of overwriting;
//   - when anything fails (a full disk or a file-size limit is 507, another write error 500)
//     every file of this request is removed again, and a SIGTERM from the server removes the
//     temporary file too.
// Each stored file is reported with its size, type and SHA-256 (support/sha256.hpp).
#include <cgicc/Cgicc.h>
#include <cgicc/HTTPContentHeader.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <climits>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include "data_files.hpp"
#include "encoding.hpp"
#include "html.hpp"
#include "request.hpp"
#include "sha256.hpp"

namespace {

constexpr uint64_t kDefaultUploadLimit = 100 * 1024 * 1024;  // CGIHOST_UPLOAD_LIMIT overrides
constexpr size_t kMaxNameBytes = 100;        // a stored name, before any "-N" suffix
constexpr size_t kMaxExtensionBytes = 16;    // kept whole when a long name is shortened
constexpr int kMaxNameSuffix = 9999;         // name-1.ext ... name-9999.ext, then give up
constexpr size_t kMaxBoundaryBytes = 70;     // RFC 2046 §5.1.1
constexpr size_t kWriteBlock = 1024 * 1024;  // hashed and written a block at a time

using samples::RequestError;

// A file that could not be stored: the server's fault, so a 5xx, and 507 when there is no room:
// a full disk, a quota, or RLIMIT_FSIZE (EFBIG), which is a disk that is full for us.
class StorageError : public std::runtime_error {
  public:
    StorageError(int error_number, const std::string& what)
        : std::runtime_error(what + ": " + std::strerror(error_number)),
          disk_full_(error_number == ENOSPC || error_number == EDQUOT || error_number == EFBIG) {}
    bool disk_full() const { return disk_full_; }

  private:
    bool disk_full_;
};

// ---- Checking the request before reading it -------------------------------------------------

uint64_t upload_limit() {
    const char* text = std::getenv("CGIHOST_UPLOAD_LIMIT");
    uint64_t limit = 0;
    if (text == nullptr ||
        std::from_chars(text, text + std::strlen(text), limit).ec != std::errc{}) {
        return kDefaultUploadLimit;
    }
    return limit;
}

// CONTENT_LENGTH, checked against the limit before cgicc reads the body into memory.
void check_content_length() {
    const char* text = std::getenv("CONTENT_LENGTH");
    std::string_view digits = text == nullptr ? "" : text;
    uint64_t length = 0;
    auto [end, error] = std::from_chars(digits.data(), digits.data() + digits.size(), length);
    const uint64_t limit = upload_limit();
    if (error == std::errc::result_out_of_range || (error == std::errc{} && length > limit)) {
        throw RequestError(
            413, "Content Too Large",
            "The upload is larger than the limit of " + std::to_string(limit) + " bytes.");
    }
    if (!digits.empty() && (error != std::errc{} || end != digits.data() + digits.size())) {
        throw RequestError(400, "Bad Request", "CONTENT_LENGTH is not a number.");
    }
    if (length == 0) {
        throw RequestError(400, "Bad Request", "The request has no body: no file was sent.");
    }
}

std::string lower_ascii(std::string_view text) {
    std::string lower(text);
    for (char& c : lower) {
        if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    }
    return lower;
}

std::string_view trim(std::string_view text) {
    size_t first = text.find_first_not_of(" \t");
    if (first == std::string_view::npos) return {};
    return text.substr(first, text.find_last_not_of(" \t") - first + 1);
}

// The boundary parameter of a multipart/form-data CONTENT_TYPE (RFC 7578 §4.1), unquoted.
std::string multipart_boundary() {
    const char* text = std::getenv("CONTENT_TYPE");
    std::string_view type = text == nullptr ? "" : text;
    std::string_view media_type = trim(type.substr(0, type.find(';')));
    if (lower_ascii(media_type) != "multipart/form-data") {
        throw RequestError(415, "Unsupported Media Type",
                           "Send the files as multipart/form-data (a form with "
                           "enctype=\"multipart/form-data\").");
    }
    // Parameters are "; name=value" (RFC 9110 §5.6.6); a boundary never contains ';'.
    std::string_view parameters = type.substr(std::min(type.size(), type.find(';')));
    while (!parameters.empty()) {
        parameters.remove_prefix(1);
        size_t next = parameters.find(';');
        std::string_view parameter = trim(parameters.substr(0, next));
        parameters.remove_prefix(std::min(parameters.size(), next));
        size_t equals = parameter.find('=');
        if (equals == std::string_view::npos ||
            lower_ascii(trim(parameter.substr(0, equals))) != "boundary") {
            continue;
        }
        std::string_view value = trim(parameter.substr(equals + 1));
        if (value.size() >= 2 && value.front() == '"' && value.back() == '"') {
            value = value.substr(1, value.size() - 2);
        }
        if (value.empty() || value.size() > kMaxBoundaryBytes) break;
        return std::string(value);
    }
    throw RequestError(400, "Bad Request", "The multipart body has no valid boundary parameter.");
}

// cgicc's source of the body and the environment. It reads stdin with read(2), checks the
// multipart framing that cgicc itself would silently skip over, and hands cgicc a plain
// "boundary=..." Content-Type, since cgicc takes everything after "boundary=" as the boundary
// and so cannot cope with quotes or a parameter after it.
class MultipartInput : public cgicc::CgiInput {
  public:
    explicit MultipartInput(std::string boundary) : boundary_(std::move(boundary)) {}

    size_t read(char* data, size_t length) override {
        size_t total = 0;
        while (total < length) {
            ssize_t n = ::read(STDIN_FILENO, data + total, length - total);
            if (n < 0 && errno == EINTR) continue;
            if (n <= 0) break;
            total += static_cast<size_t>(n);
        }
        check_framing(std::string_view(data, total));
        return total;
    }

    std::string getenv(const char* name) override {
        if (std::strcmp(name, "CONTENT_TYPE") == 0) {
            return "multipart/form-data; boundary=" + boundary_;
        }
        return cgicc::CgiInput::getenv(name);
    }

    bool well_framed() const { return well_framed_; }

  private:
    // RFC 2046 §5.1.1: a first "--boundary" line and a final "--boundary--". cgicc also needs
    // the CRLF after the final one, which every browser sends.
    void check_framing(std::string_view body) {
        size_t first = body.find("--" + boundary_ + "\r\n");
        size_t last = body.rfind("\r\n--" + boundary_ + "--\r\n");
        well_framed_ =
            first != std::string_view::npos && last != std::string_view::npos && first < last;
    }

    std::string boundary_;
    bool well_framed_ = false;
};

// ---- Names ----------------------------------------------------------------------------------

bool is_safe_name_character(char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' ||
           c == '_' || c == '-';
}

// The client's file name made safe to store: its last path component (Windows browsers once
// sent "C:\Users\me\x.txt"), [A-Za-z0-9._-] only with one '_' per other character, no leading
// dot (no hidden files, no "..") and at most kMaxNameBytes, keeping a short extension. cgicc
// has already percent-decoded the name, so a "%2F" arrives here as the '/' it stands for.
std::string sanitize_file_name(std::string_view client_name) {
    size_t slash = client_name.find_last_of("/\\");
    if (slash != std::string_view::npos) client_name.remove_prefix(slash + 1);
    std::string name;
    for (char c : client_name) {
        // A UTF-8 sequence becomes one '_': its continuation bytes add nothing.
        if ((static_cast<unsigned char>(c) & 0xC0) == 0x80) continue;
        name += is_safe_name_character(c) ? c : '_';
    }
    name.erase(0, name.find_first_not_of('.'));
    if (name.empty()) return "file";
    if (name.size() > kMaxNameBytes) {
        size_t dot = name.rfind('.');
        std::string extension;
        if (dot != std::string::npos && name.size() - dot <= kMaxExtensionBytes) {
            extension = name.substr(dot);
        }
        name = name.substr(0, kMaxNameBytes - extension.size()) + extension;
    }
    return name;
}

// "name.ext" → "name-<n>.ext"; a dot at the start is not an extension, and neither is none.
std::string numbered_name(const std::string& name, int n) {
    size_t dot = name.rfind('.');
    if (dot == std::string::npos || dot == 0) return name + '-' + std::to_string(n);
    return name.substr(0, dot) + '-' + std::to_string(n) + name.substr(dot);
}

// ---- Storing --------------------------------------------------------------------------------

// The temporary file being written, for the signal handler: if the server stops us (a client
// that went away, a timeout) the half-written file must not stay behind. Signals are blocked
// while it changes, so the handler never sees half a path.
char g_temporary_path[PATH_MAX] = "";
constexpr int kStoppingSignals[] = {SIGTERM, SIGINT, SIGHUP};  // what the server may send

void remove_temporary_and_exit(int signal_number) {
    if (g_temporary_path[0] != '\0') ::unlink(g_temporary_path);
    ::_exit(128 + signal_number);
}

class SignalBlock {
  public:
    SignalBlock() {
        sigset_t stopping;
        sigemptyset(&stopping);
        for (int signal_number : kStoppingSignals) {
            sigaddset(&stopping, signal_number);
        }
        sigprocmask(SIG_BLOCK, &stopping, &previous_);
    }
    ~SignalBlock() { sigprocmask(SIG_SETMASK, &previous_, nullptr); }
    SignalBlock(const SignalBlock&) = delete;
    SignalBlock& operator=(const SignalBlock&) = delete;

  private:
    sigset_t previous_;
};

void install_cleanup_handler() {
    struct sigaction action {};
    action.sa_handler = remove_temporary_and_exit;
    sigemptyset(&action.sa_mask);
    for (int signal_number : kStoppingSignals) {
        sigaction(signal_number, &action, nullptr);
    }
}

// A ".upload-XXXXXX" file in the uploads directory, removed unless it was linked into place.
class TemporaryFile {
  public:
    explicit TemporaryFile(const std::filesystem::path& directory) {
        SignalBlock block;
        std::string pattern = (directory / ".upload-XXXXXX").string();
        if (pattern.size() >= sizeof g_temporary_path) {
            throw StorageError(ENAMETOOLONG, "cannot create a temporary file");
        }
        std::memcpy(g_temporary_path, pattern.c_str(), pattern.size() + 1);
        fd_.reset(::mkstemp(g_temporary_path));
        if (!fd_) {
            int error = errno;
            g_temporary_path[0] = '\0';
            throw StorageError(error, "cannot create a temporary file");
        }
        path_ = g_temporary_path;
    }
    ~TemporaryFile() {
        SignalBlock block;
        fd_.reset();
        ::unlink(path_.c_str());
        g_temporary_path[0] = '\0';
    }
    TemporaryFile(const TemporaryFile&) = delete;
    TemporaryFile& operator=(const TemporaryFile&) = delete;

    int fd() const { return fd_.get(); }
    const std::string& path() const { return path_; }

    // Makes the written file durable, then closes it: close(2) may report a late write error.
    void finish() {
        if (::fchmod(fd_.get(), 0644) != 0 || ::fsync(fd_.get()) != 0) {
            throw StorageError(errno, "cannot save the file");
        }
        if (::close(fd_.release()) != 0) {
            throw StorageError(errno, "cannot save the file");
        }
    }

  private:
    samples::FileDescriptor fd_;
    std::string path_;
};

struct StoredFile {
    std::string client_name;
    std::string stored_name;
    std::string content_type;
    uint64_t size = 0;
    std::string sha256;
};

// The uploads directory, and every file this request stored there so far: if a later file
// fails, the earlier ones are removed too and the request leaves nothing behind.
class UploadStore {
  public:
    UploadStore() {
        try {
            directory_ = samples::data_subdirectory("uploads");
        } catch (const std::system_error& error) {
            throw StorageError(error.code().value(), "cannot create the uploads directory");
        }
        directory_fd_.reset(::open(directory_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
        if (!directory_fd_) throw StorageError(errno, "cannot open the uploads directory");
    }
    ~UploadStore() {
        if (committed_) return;
        for (const StoredFile& file : stored_) {
            ::unlink((directory_ / file.stored_name).c_str());
        }
    }
    UploadStore(const UploadStore&) = delete;
    UploadStore& operator=(const UploadStore&) = delete;

    void store(const cgicc::FormFile& upload) {
        StoredFile file{upload.getFilename(), "", upload.getDataType(), 0, ""};
        TemporaryFile temporary(directory_);
        const std::string data = upload.getData();
        samples::Sha256 hash;
        for (size_t offset = 0; offset < data.size(); offset += kWriteBlock) {
            std::string_view block = std::string_view(data).substr(offset, kWriteBlock);
            hash.update(block);
            if (!samples::write_all(temporary.fd(), block)) {
                throw StorageError(errno, "cannot write the file");
            }
        }
        temporary.finish();
        file.size = data.size();
        file.sha256 = hash.hex_digest();
        file.stored_name = link_unused_name(temporary.path(), sanitize_file_name(file.client_name));
        stored_.push_back(std::move(file));
    }

    // Makes the names durable and keeps the files.
    const std::vector<StoredFile>& commit() {
        if (::fsync(directory_fd_.get()) != 0) throw StorageError(errno, "cannot save the files");
        committed_ = true;
        return stored_;
    }

  private:
    // link(2) fails with EEXIST rather than replace a file, so trying name, name-1, name-2...
    // is safe against another upload of the same name at the same moment.
    std::string link_unused_name(const std::string& temporary, const std::string& name) {
        for (int n = 0; n <= kMaxNameSuffix; ++n) {
            std::string candidate = n == 0 ? name : numbered_name(name, n);
            if (::link(temporary.c_str(), (directory_ / candidate).c_str()) == 0) {
                return candidate;
            }
            if (errno != EEXIST) throw StorageError(errno, "cannot save the file");
        }
        throw StorageError(EEXIST, "too many files are called " + name);
    }

    std::filesystem::path directory_;
    samples::FileDescriptor directory_fd_;
    std::vector<StoredFile> stored_;
    bool committed_ = false;
};

// ---- Pages ----------------------------------------------------------------------------------

void send_stored_page(const std::vector<StoredFile>& files, const std::string& description) {
    std::cout << cgicc::HTTPContentHeader(samples::kHtmlContentType);
    samples::page_start(files.size() == 1 ? "File uploaded" : "Files uploaded");
    if (!description.empty()) {
        std::cout << "<p>Description: <q>" << samples::escape_html(description) << "</q></p>\n";
    }
    std::cout << "<table>\n<tr><th>Stored as</th><th>Sent as</th><th>Size</th>"
                 "<th>Type</th><th>SHA-256</th></tr>\n";
    for (const StoredFile& file : files) {
        std::cout << "<tr class=\"file\"><td><a href=\"download?file="
                  << samples::percent_encode(file.stored_name) << "\">"
                  << samples::escape_html(file.stored_name) << "</a></td><td>"
                  << samples::escape_html(file.client_name) << "</td><td>" << file.size
                  << "</td><td>"
                  << samples::escape_html(file.content_type.empty() ? "(none)" : file.content_type)
                  << "</td><td><code>" << file.sha256 << "</code></td></tr>\n";
    }
    std::cout << "</table>\n"
                 "<p><a href=\"download\">All uploaded files</a> · "
                 "<a href=\"/upload.html\">Upload more</a></p>\n";
    samples::page_end();
}

void handle_upload() {
    if (const char* method = std::getenv("REQUEST_METHOD");
        method == nullptr || std::strcmp(method, "POST") != 0) {
        throw RequestError(405, "Method Not Allowed",
                           "Send files with the form on /upload.html: a POST with "
                           "multipart/form-data.",
                           {{"Allow", "POST"}});
    }
    check_content_length();
    MultipartInput input(multipart_boundary());
    std::optional<cgicc::Cgicc> form;
    try {
        form.emplace(&input);
    } catch (const std::exception&) {
        // cgicc throws for a body shorter than CONTENT_LENGTH and for a part without headers.
        throw RequestError(400, "Bad Request", "The multipart body is malformed or incomplete.");
    }
    if (!input.well_framed()) {
        throw RequestError(400, "Bad Request", "The multipart body is malformed or incomplete.");
    }
    const std::vector<cgicc::FormFile>& uploads = form->getFiles();
    if (uploads.empty()) {
        throw RequestError(400, "Bad Request", "The form carried no file: choose one to upload.");
    }
    std::string description;
    if (auto entry = form->getElement("description"); entry != form->getElements().end()) {
        if (entry->length() > samples::kMaxFieldBytes) {
            throw RequestError(413, "Content Too Large",
                               "The description is longer than " +
                                   std::to_string(samples::kMaxFieldBytes) + " bytes.");
        }
        description = entry->getValue();
    }
    UploadStore store;
    for (const cgicc::FormFile& upload : uploads) {
        store.store(upload);
    }
    send_stored_page(store.commit(), description);
}

}  // namespace

int main() {
    install_cleanup_handler();
    // Writing past RLIMIT_FSIZE raises SIGXFSZ, whose default action kills us before we could
    // remove the temporary file or answer; ignored, the write fails with EFBIG instead.
    signal(SIGXFSZ, SIG_IGN);
    try {
        handle_upload();
    } catch (const RequestError& error) {
        samples::send_error_page(error);
    } catch (const StorageError& error) {
        std::cerr << "upload: " << error.what() << '\n';
        if (error.disk_full()) {
            samples::send_error_page(507, "Insufficient Storage",
                                     "The server has no room for this upload; nothing was kept.");
        } else {
            samples::send_error_page(500, "Internal Server Error",
                                     "The upload could not be saved; nothing was kept.");
        }
    } catch (const std::exception& error) {
        std::cerr << "upload: " << error.what() << '\n';
        samples::send_error_page(500, "Internal Server Error",
                                 "The upload could not be saved; nothing was kept.");
    }
}
