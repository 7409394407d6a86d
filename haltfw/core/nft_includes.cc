#include "core/nft_includes.h"

#include <fcntl.h>
#include <glob.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <set>

namespace haltfw {
namespace {

bool HasWildcard(const std::string& s) { return s.find_first_of("*?[") != std::string::npos; }

// nft 1.0.6 searches the include paths for any name that does not start
// with '/', './' or '../' (search_in_include_path).
bool SearchesIncludePaths(const std::string& name) {
    return !name.starts_with('/') && !name.starts_with("./") && !name.starts_with("../");
}

// glob(3) with nft's flags: no escapes, directories marked with a trailing
// '/' and left out. `*matched` says whether glob found anything at all (a
// directory counts: nft then stops searching for a name without wildcards).
std::vector<std::string> Glob(const std::string& pattern, bool* matched) {
    glob_t g{};
    int rc = glob(pattern.c_str(), GLOB_NOESCAPE | GLOB_MARK, nullptr, &g);
    std::vector<std::string> files;
    *matched = rc == 0;
    if (rc == 0)
        for (size_t i = 0; i < g.gl_pathc; ++i) {
            std::string p = g.gl_pathv[i];
            if (!p.empty() && !p.ends_with('/')) files.push_back(std::move(p));
        }
    globfree(&g);
    return files;
}

// Closes an fd when it goes out of scope.
struct ScopedFd {
    int fd;
    ~ScopedFd() {
        if (fd >= 0) close(fd);
    }
};

// Reads a regular file whole. Anything else is not read: a FIFO would block
// (stat first, so that a device is not even opened; O_NONBLOCK and fstat
// for one swapped in between).
bool ReadRegular(const std::string& path, std::string* content, std::string* error) {
    struct stat st {};
    if (stat(path.c_str(), &st) != 0) {
        *error = std::strerror(errno);
        return false;
    }
    ScopedFd fd{S_ISREG(st.st_mode) ? open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK) : -1};
    if (S_ISREG(st.st_mode) && fd.fd < 0) {
        *error = std::strerror(errno);
        return false;
    }
    if (fd.fd < 0 || fstat(fd.fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        *error = "not a regular file";
        return false;
    }
    content->clear();
    char buf[65536];
    for (;;) {
        ssize_t n = read(fd.fd, buf, sizeof buf);
        if (n == 0) return true;
        if (n > 0) content->append(buf, static_cast<size_t>(n));
        else if (errno != EINTR) break;
    }
    *error = std::strerror(errno);
    return false;
}

}  // namespace

const std::vector<std::string>& NftDefaultIncludePaths() {
    static const std::vector<std::string> paths = {"/etc"};
    return paths;
}

std::vector<std::string> IncludeNames(std::string_view text) {
    static constexpr std::string_view kKeyword = "include";
    std::vector<std::string> names;
    size_t i = 0;
    while (i < text.size()) {
        char c = text[i];
        if (c == '#') {  // a comment, to the end of the line
            size_t nl = text.find('\n', i);
            i = nl == std::string_view::npos ? text.size() : nl + 1;
        } else if (c == '"') {  // a quoted string: skipped whole
            size_t end = text.find('"', i + 1);
            i = end == std::string_view::npos ? text.size() : end + 1;
        } else if (text.substr(i).starts_with(kKeyword)) {
            size_t j = i + kKeyword.size();
            while (j < text.size() && (text[j] == ' ' || text[j] == '\t' || text[j] == '\n' || text[j] == '\r')) ++j;
            size_t end = j < text.size() && text[j] == '"' ? text.find('"', j + 1) : std::string_view::npos;
            if (end == std::string_view::npos) {
                i = j;
                continue;
            }
            names.emplace_back(text.substr(j + 1, end - j - 1));
            i = end + 1;
        } else {
            ++i;
        }
    }
    return names;
}

std::vector<std::string> ResolveInclude(const std::string& name, const std::vector<std::string>& include_paths) {
    std::vector<std::string> candidates;
    if (SearchesIncludePaths(name))
        for (const std::string& dir : include_paths) candidates.push_back(dir + "/" + name);
    else
        candidates.push_back(name);
    std::vector<std::string> files;
    for (const std::string& pattern : candidates) {
        bool matched = false;
        for (std::string& f : Glob(pattern, &matched)) files.push_back(std::move(f));
        // Without wildcards the first path that has the name is the one;
        // with them, every path's matches are read (include_glob's 0 and 2).
        if (matched && !HasWildcard(name)) break;
    }
    return files;
}

void VisitRulesetSources(const std::vector<std::string>& roots, const std::vector<std::string>& include_paths,
                         const std::function<void(const NftSource&)>& visit) {
    // Each path once: a file included twice reads the same bytes, and a
    // cycle (which nft refuses at 16 levels) ends here.
    std::set<std::string> seen;
    std::function<void(const std::string&)> walk = [&](const std::string& path) {
        if (!seen.insert(path).second) return;
        NftSource src;
        src.path = path;
        if (ReadRegular(path, &src.content, &src.error))
            for (std::string& name : IncludeNames(src.content)) {
                std::vector<std::string> files = ResolveInclude(name, include_paths);
                src.includes.emplace_back(std::move(name), std::move(files));
            }
        visit(src);
        src.content = std::string();  // only the names are needed from here on
        for (const auto& [name, files] : src.includes)
            for (const std::string& f : files) walk(f);
    };
    for (const std::string& r : roots) walk(r);
}

}  // namespace haltfw
