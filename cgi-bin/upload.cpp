// upload: receives one or several files and a description from a multipart/form-data form
// (RFC 7578; www/upload.html) and stores them in <data>/uploads/, where `download` lists them.
//
// Shows what a CGI program must get right before it trusts an upload:
//   - the size is checked against CONTENT_LENGTH before a byte is read (413), because cgicc
//     keeps the whole body in memory, and the client's file name is never used as a path: it
//     is cut to its last component and reduced to [A-Za-z0-9._-] with no leading dot;
//   - a public upload directory must not fill the disk: one request may carry at most
//     CGIHOST_UPLOAD_MAX_FILES files (413), and the directory as a whole holds at most
//     CGIHOST_UPLOAD_QUOTA bytes in CGIHOST_UPLOAD_QUOTA_FILES files (507). The quota is
//     checked and the files put in place under flock(2) on uploads/.lock, so two uploads at
//     the same moment cannot both take the last room;
//   - a file is never half there: it is written to a temporary file in the same directory and
//     fsync'ed, and only once every file of the request is written, and the quota allows them,
//     renamed to its final name. A file of the same name is replaced, as in any folder, rather
//     than kept beside it as name-1, name-2...: a name means one file, and repeating an upload
//     costs no room;
//   - when anything fails (a full disk or a file-size limit is 507, another write error 500)
//     no file of this request is kept, and a SIGTERM from the server removes the temporary
//     files too;
//   - the names it stored are recorded in uploads/.stored, and download lists and sends those
//     files only: whatever else lands in the directory is not offered to anyone.
// Each stored file is reported with its size, type and SHA-256 (support/sha256.hpp).
#include <cgicc/Cgicc.h>
#include <cgicc/HTTPContentHeader.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <climits>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <memory>
#include <optional>
#include <set>
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

// The defaults of the limits; each is overridden by the environment variable named beside it.
constexpr uint64_t kDefaultUploadLimit = 100 * 1024 * 1024;  // CGIHOST_UPLOAD_LIMIT, bytes
constexpr uint64_t kDefaultMaxFiles = 10;                    // CGIHOST_UPLOAD_MAX_FILES
constexpr uint64_t kDefaultQuotaBytes = uint64_t{1} << 30;   // CGIHOST_UPLOAD_QUOTA, bytes
constexpr uint64_t kDefaultQuotaFiles = 1000;                // CGIHOST_UPLOAD_QUOTA_FILES
// However CGIHOST_UPLOAD_MAX_FILES is set: the signal handler keeps one slot per file.
constexpr size_t kMaxFilesCeiling = 100;

constexpr size_t kMaxNameBytes = 100;            // a stored name
constexpr size_t kMaxExtensionBytes = 16;        // kept whole when a long name is shortened
constexpr size_t kMaxBoundaryBytes = 70;         // RFC 2046 §5.1.1
constexpr size_t kWriteBlock = 1024 * 1024;      // hashed and written a block at a time
constexpr const char* kLockName = ".lock";       // in uploads/; a dotfile, so never listed or sent
constexpr const char* kRecordName = ".stored";   // the names stored, for download
constexpr time_t kStaleTemporarySeconds = 3600;  // a left-over temporary older than this goes

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

// A limit from the environment: its decimal value, or `fallback` when unset or not a number.
uint64_t setting(const char* name, uint64_t fallback) {
    const char* text = std::getenv(name);
    uint64_t value = 0;
    if (text == nullptr || *text == '\0') return fallback;
    auto [end, error] = std::from_chars(text, text + std::strlen(text), value);
    return error == std::errc{} && *end == '\0' ? value : fallback;
}

uint64_t upload_limit() {
    return setting("CGIHOST_UPLOAD_LIMIT", kDefaultUploadLimit);
}

uint64_t max_files_per_request() {
    return std::min<uint64_t>(setting("CGIHOST_UPLOAD_MAX_FILES", kDefaultMaxFiles),
                              kMaxFilesCeiling);
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

// ---- Storing --------------------------------------------------------------------------------

// The temporary files being written, for the signal handler: if the server stops us (a client
// that went away, a timeout) no half-written file may stay behind. The handler removes them
// with unlinkat(2) relative to the uploads directory, which is async-signal-safe. Signals are
// blocked while the table changes, so the handler never sees half a name.
constexpr size_t kTemporaryNameBytes = sizeof ".upload-XXXXXX";
int g_directory_fd = -1;
char g_temporary_names[kMaxFilesCeiling][kTemporaryNameBytes] = {};
constexpr int kStoppingSignals[] = {SIGTERM, SIGINT, SIGHUP};  // what the server may send

void remove_temporaries_and_exit(int signal_number) {
    for (const char* name : g_temporary_names) {
        if (name[0] != '\0') ::unlinkat(g_directory_fd, name, 0);
    }
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
    action.sa_handler = remove_temporaries_and_exit;
    sigemptyset(&action.sa_mask);
    for (int signal_number : kStoppingSignals) {
        sigaction(signal_number, &action, nullptr);
    }
}

// A ".upload-XXXXXX" file in the uploads directory (`directory_fd`), in signal-handler slot
// `slot`; removed on destruction unless it was renamed into place.
class TemporaryFile {
  public:
    TemporaryFile(int directory_fd, const std::filesystem::path& directory, size_t slot)
        : directory_fd_(directory_fd), slot_(slot) {
        SignalBlock block;
        g_directory_fd = directory_fd;
        std::string path = (directory / ".upload-XXXXXX").string();
        fd_.reset(::mkstemp(path.data()));
        if (!fd_) throw StorageError(errno, "cannot create a temporary file");
        name_ = path.substr(path.size() - (kTemporaryNameBytes - 1));
        std::memcpy(g_temporary_names[slot_], name_.c_str(), kTemporaryNameBytes);
    }
    ~TemporaryFile() {
        SignalBlock block;
        fd_.reset();
        if (!renamed_) ::unlinkat(directory_fd_, name_.c_str(), 0);
        g_temporary_names[slot_][0] = '\0';
    }
    TemporaryFile(const TemporaryFile&) = delete;
    TemporaryFile& operator=(const TemporaryFile&) = delete;

    int fd() const { return fd_.get(); }

    // Makes the written file durable, then closes it: close(2) may report a late write error.
    void finish() {
        if (::fchmod(fd_.get(), 0644) != 0 || ::fsync(fd_.get()) != 0) {
            throw StorageError(errno, "cannot save the file");
        }
        if (::close(fd_.release()) != 0) {
            throw StorageError(errno, "cannot save the file");
        }
    }

    // Gives the file its final name, replacing a file of that name (rename(2) is atomic: a
    // reader sees the old file or the new one). Signals are blocked, so the handler never
    // removes a name that is no longer ours. Returns errno, 0 on success.
    int rename_to(const std::string& name) {
        SignalBlock block;
        if (::renameat(directory_fd_, name_.c_str(), directory_fd_, name.c_str()) != 0) {
            return errno;
        }
        renamed_ = true;
        g_temporary_names[slot_][0] = '\0';
        return 0;
    }

  private:
    int directory_fd_;
    size_t slot_;
    samples::FileDescriptor fd_;
    std::string name_;
    bool renamed_ = false;
};

struct StoredFile {
    std::string client_name;
    std::string stored_name;
    std::string content_type;
    uint64_t size = 0;
    std::string sha256;
    bool replaced = false;  // a file of that name was there before
};

// What the uploads directory holds: its stored files (dotfiles are temporaries and the lock).
struct Usage {
    uint64_t bytes = 0;
    uint64_t files = 0;
    std::map<std::string, uint64_t> sizes;  // name → size
};

// A full upload directory: the server's limit, not the client's fault, so 507 (RFC 4918 §11.5).
class QuotaError : public std::runtime_error {
  public:
    using std::runtime_error::runtime_error;
};

// Holds flock(2) on uploads/.lock until destroyed: the quota check and the renames that it
// allows happen under it, so concurrent uploads see each other's files (as chat does).
class DirectoryLock {
  public:
    explicit DirectoryLock(int directory_fd) {
        fd_.reset(::openat(directory_fd, kLockName, O_RDWR | O_CREAT | O_CLOEXEC, 0600));
        if (!fd_) throw StorageError(errno, "cannot open the upload lock");
        while (::flock(fd_.get(), LOCK_EX) != 0) {
            if (errno != EINTR) throw StorageError(errno, "cannot lock the uploads");
        }
    }

  private:
    samples::FileDescriptor fd_;
};

// The uploads directory and the files of this request: each is written to a temporary file
// first; commit() checks the quota and renames them all into place, or none is kept.
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
    UploadStore(const UploadStore&) = delete;
    UploadStore& operator=(const UploadStore&) = delete;

    // Writes `upload` to a temporary file, to be stored as `name` by commit().
    void stage(const cgicc::FormFile& upload, const std::string& name) {
        StoredFile file{upload.getFilename(), name, upload.getDataType(), 0, "", false};
        temporaries_.push_back(
            std::make_unique<TemporaryFile>(directory_fd_.get(), directory_, staged_.size()));
        TemporaryFile& temporary = *temporaries_.back();
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
        staged_.push_back(std::move(file));
    }

    // Under the lock: throws QuotaError when the files would not fit, else renames them into
    // place and makes the names durable.
    const std::vector<StoredFile>& commit() {
        SignalBlock block;  // a few renames and one small write: finish them once begun
        DirectoryLock lock(directory_fd_.get());
        Usage usage = current_usage();
        for (StoredFile& file : staged_) {
            if (auto old = usage.sizes.find(file.stored_name); old != usage.sizes.end()) {
                file.replaced = true;
                usage.bytes -= old->second;
                usage.files -= 1;
            }
            usage.bytes += file.size;
            usage.files += 1;
        }
        check_quota(usage);
        remove_stale_temporaries();
        // Nothing is replaced until everything that can fail has been tried: a name taken by
        // something that is not a stored file, and the record download reads (a recorded name
        // without its file yet is harmless; a file without its name would be unreachable).
        for (const StoredFile& file : staged_) {
            struct stat info {};
            if (::fstatat(directory_fd_.get(), file.stored_name.c_str(), &info,
                          AT_SYMLINK_NOFOLLOW) == 0 &&
                !S_ISREG(info.st_mode)) {
                throw StorageError(EEXIST, "cannot save “" + file.stored_name + "”");
            }
        }
        record_stored_names(usage);
        // Renames within one directory need no room. Once the first has replaced a file there
        // is no undoing it, so a later failure is logged and the page says what was stored.
        std::vector<StoredFile> stored;
        for (size_t i = 0; i < staged_.size(); ++i) {
            if (int error = temporaries_[i]->rename_to(staged_[i].stored_name); error != 0) {
                std::cerr << "upload: cannot store " << staged_[i].stored_name << ": "
                          << std::strerror(error) << '\n';
                continue;
            }
            stored.push_back(staged_[i]);
        }
        if (::fsync(directory_fd_.get()) != 0) {
            std::cerr << "upload: fsync of the uploads directory: " << std::strerror(errno) << '\n';
        }
        if (stored.empty()) throw StorageError(EIO, "cannot save the files");
        staged_ = std::move(stored);
        return staged_;
    }

  private:
    // Temporaries of a request that was killed outright (SIGKILL, a crash) have no one to
    // remove them; under the lock, those older than an hour (a live request writes its own
    // within seconds of starting: its body has already arrived) go.
    void remove_stale_temporaries() const {
        const time_t cutoff = ::time(nullptr) - kStaleTemporarySeconds;
        std::error_code error;
        for (auto it = std::filesystem::directory_iterator(directory_, error);
             !error && it != std::filesystem::directory_iterator(); it.increment(error)) {
            std::string name = it->path().filename().string();
            if (!name.starts_with(".upload-") && !name.starts_with(".tmp-")) continue;
            struct stat info {};
            if (::fstatat(directory_fd_.get(), name.c_str(), &info, AT_SYMLINK_NOFOLLOW) == 0 &&
                S_ISREG(info.st_mode) && info.st_mtime < cutoff) {
                ::unlinkat(directory_fd_.get(), name.c_str(), 0);
            }
        }
    }

    Usage current_usage() const {
        Usage usage;
        std::error_code error;
        for (auto it = std::filesystem::directory_iterator(directory_, error);
             !error && it != std::filesystem::directory_iterator(); it.increment(error)) {
            std::string name = it->path().filename().string();
            struct stat info {};
            if (name.starts_with('.') ||
                ::fstatat(directory_fd_.get(), name.c_str(), &info, AT_SYMLINK_NOFOLLOW) != 0 ||
                !S_ISREG(info.st_mode)) {
                continue;
            }
            usage.bytes += static_cast<uint64_t>(info.st_size);
            usage.files += 1;
            usage.sizes[name] = static_cast<uint64_t>(info.st_size);
        }
        if (error) throw StorageError(error.value(), "cannot read the uploads directory");
        return usage;
    }

    // uploads/.stored: the names of the files upload stored, one a line, the only ones that
    // download lists and sends. Kept: the names that were recorded and still are files here,
    // and this request's. Replaced whole, so a reader never sees half of it.
    void record_stored_names(const Usage& before) const {
        std::set<std::string> names;
        std::ifstream record(directory_ / kRecordName);
        for (std::string line; std::getline(record, line);) {
            if (before.sizes.contains(line)) names.insert(line);
        }
        for (const StoredFile& file : staged_) {
            names.insert(file.stored_name);
        }
        std::string content;
        for (const std::string& name : names) {
            content += name + '\n';
        }
        try {
            samples::replace_file(directory_ / kRecordName, content);
        } catch (const std::system_error& error) {
            throw StorageError(error.code().value(), "cannot record the stored files");
        }
    }

    static void check_quota(const Usage& after) {
        const uint64_t quota_bytes = setting("CGIHOST_UPLOAD_QUOTA", kDefaultQuotaBytes);
        const uint64_t quota_files = setting("CGIHOST_UPLOAD_QUOTA_FILES", kDefaultQuotaFiles);
        if (after.bytes > quota_bytes || after.files > quota_files) {
            throw QuotaError("The upload directory may hold " + std::to_string(quota_files) +
                             " files and " + std::to_string(quota_bytes) +
                             " bytes; with this upload it would hold " +
                             std::to_string(after.files) + " files and " +
                             std::to_string(after.bytes) + " bytes.");
        }
    }

    std::filesystem::path directory_;
    samples::FileDescriptor directory_fd_;
    std::vector<StoredFile> staged_;
    std::vector<std::unique_ptr<TemporaryFile>> temporaries_;  // staged_[i]'s file
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
                  << samples::escape_html(file.stored_name) << "</a>"
                  << (file.replaced ? " <small>(replaced the file of that name)</small>" : "")
                  << "</td><td>" << samples::escape_html(file.client_name) << "</td><td>"
                  << file.size << "</td><td>"
                  << samples::escape_html(file.content_type.empty() ? "(none)" : file.content_type)
                  << "</td><td><code>" << file.sha256 << "</code></td></tr>\n";
    }
    std::cout << "</table>\n"
                 "<p><a href=\"download\">All uploaded files</a> · "
                 "<a href=\"/upload.html\">Upload more</a></p>\n";
    samples::page_end();
}

// The files to store and their names: at most max_files_per_request() of them (413), and one
// per name: when two files of a request come to the same name, the later one is kept, as if
// they had been copied into a folder one after the other.
std::vector<std::pair<const cgicc::FormFile*, std::string>> files_to_store(
    const std::vector<cgicc::FormFile>& uploads) {
    const uint64_t max_files = max_files_per_request();
    if (uploads.size() > max_files) {
        throw RequestError(413, "Content Too Large",
                           "One upload may carry at most " + std::to_string(max_files) +
                               " files; this one carried " + std::to_string(uploads.size()) +
                               ". Nothing was kept.");
    }
    std::vector<std::pair<const cgicc::FormFile*, std::string>> files;
    for (const cgicc::FormFile& upload : uploads) {
        std::string name = sanitize_file_name(upload.getFilename());
        std::erase_if(files, [&](const auto& file) { return file.second == name; });
        files.emplace_back(&upload, std::move(name));
    }
    return files;
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
    for (const auto& [upload, name] : files_to_store(uploads)) {
        store.stage(*upload, name);
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
    } catch (const QuotaError& error) {
        samples::send_error_page(507, "Insufficient Storage",
                                 std::string(error.what()) +
                                     " Nothing was kept: remove files or ask for a larger quota.");
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
