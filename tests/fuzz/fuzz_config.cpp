// libFuzzer target: the configuration loader (CLI11 flags and the --config file). Whatever the
// bytes, parse_config must return a Config or a clean exit (0 for --help/--version, 2 with a
// one-line "cgihost: error: ..." otherwise); it must never crash or let an exception out.
// The first byte picks the mode: even = the rest is a config file, odd = the rest is argv
// (NUL-separated words).
#include <stdlib.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "server/config.hpp"

namespace {

// One scratch directory per process, holding the config file each input is written to.
class ScratchFile {
  public:
    ScratchFile() {
        std::string pattern = (std::filesystem::temp_directory_path() / "fuzz_config.XXXXXX");
        if (::mkdtemp(pattern.data()) == nullptr) std::abort();
        directory_ = pattern;
        path_ = directory_ + "/cgihost.conf";
    }
    ~ScratchFile() {
        std::error_code ignored;
        std::filesystem::remove_all(directory_, ignored);
    }
    ScratchFile(const ScratchFile&) = delete;
    ScratchFile& operator=(const ScratchFile&) = delete;

    const std::string& write(std::string_view contents) const {
        std::ofstream(path_, std::ios::binary | std::ios::trunc)
            .write(contents.data(), static_cast<std::streamsize>(contents.size()));
        return path_;
    }

  private:
    std::string directory_;
    std::string path_;
};

std::vector<std::string> split_words(std::string_view text) {
    std::vector<std::string> words;
    size_t start = 0;
    while (start <= text.size()) {
        size_t end = text.find('\0', start);
        if (end == std::string_view::npos) end = text.size();
        words.emplace_back(text.substr(start, end - start));
        start = end + 1;
    }
    return words;
}

void check_outcome(const cgihost::ConfigOutcome& outcome) {
    if (const auto* exit = std::get_if<cgihost::ConfigExit>(&outcome)) {
        if (exit->status != 0 && exit->status != 2) std::abort();
        if (exit->message.empty() || exit->message.back() != '\n') std::abort();
        if (exit->status == 2 && exit->message.rfind("cgihost: error: ", 0) != 0) std::abort();
        return;
    }
    // A Config that passed validation is one the server can start with.
    const auto& config = std::get<cgihost::Config>(outcome);
    if (config.listen_addresses.size() != config.listen.size() || config.listen.empty()) {
        std::abort();
    }
    if (config.threads == 0 || config.index_files.empty()) std::abort();
    if (config.cgi_url.empty() || config.cgi_url.front() != '/') std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* bytes, size_t size) {
    static const ScratchFile scratch;
    if (size == 0) return 0;
    std::string_view rest(reinterpret_cast<const char*>(bytes + 1), size - 1);
    std::vector<std::string> words{"cgihost"};
    if (bytes[0] % 2 == 0) {
        words.push_back("--config");
        words.push_back(scratch.write(rest));
    } else {
        for (auto& word : split_words(rest))
            words.push_back(std::move(word));
    }
    std::vector<const char*> argv;
    for (const auto& word : words)
        argv.push_back(word.c_str());
    argv.push_back(nullptr);
    // An exception escaping here is a finding: libFuzzer reports it as a crash.
    check_outcome(cgihost::parse_config(static_cast<int>(words.size()), argv.data()));
    return 0;
}
