// A scratch directory for tests that need files: under $TMPDIR (or /tmp),
// removed with everything in it when the test ends; and bytes to fill them.
#pragma once

#include <stdlib.h>

#include <cstddef>
#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <string>
#include <system_error>

namespace haltfw {

struct ScratchDir {
    std::string path;  ///< Empty if mkdtemp failed.

    explicit ScratchDir(const std::string& tag = "test") {
        const char* tmp = getenv("TMPDIR");
        std::string templ = std::string(tmp && *tmp ? tmp : "/tmp") + "/haltfw-" + tag + "-XXXXXX";
        path = mkdtemp(templ.data()) ? templ : "";
    }
    ~ScratchDir() {
        std::error_code ignored;
        if (!path.empty()) std::filesystem::remove_all(path, ignored);
    }
    ScratchDir(const ScratchDir&) = delete;
    ScratchDir& operator=(const ScratchDir&) = delete;

    /// Writes `text` to PATH/NAME (making the directories in NAME) and
    /// returns the file's path.
    std::string Write(const std::string& name, const std::string& text) const {
        if (path.empty()) throw std::runtime_error("no scratch directory (mkdtemp failed)");
        std::string p = path + "/" + name;
        std::filesystem::create_directories(std::filesystem::path(p).parent_path());
        std::ofstream(p, std::ios::trunc | std::ios::binary) << text;
        return p;
    }
};

/// `n` bytes that are not text (every value, in no simple run), for tests
/// of reads that span several buffers.
inline std::string TestBytes(size_t n) {
    std::string s(n, '\0');
    for (size_t i = 0; i < n; ++i) s[i] = static_cast<char>((i * 131 + i / 7) & 0xff);
    return s;
}

}  // namespace haltfw
