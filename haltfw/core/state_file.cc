#include "core/state_file.h"

#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>

namespace haltfw {

std::string StateDir() {
    const char* d = std::getenv("HALTFW_STATE_DIR");
    return d && *d ? d : "/run/haltfw";
}

namespace {

std::string PathFor(uint64_t cookie) { return StateDir() + "/applied-" + std::to_string(cookie); }

}  // namespace

bool AppliedStatePath(std::string* path, std::string* err) {
    uint64_t cookie = 0;
    if (!NetnsCookie(&cookie, err)) return false;
    *path = PathFor(cookie);
    return true;
}

bool ReadAppliedState(AppliedState* out, std::string* err) {
    uint64_t cookie = 0;
    if (!NetnsCookie(&cookie, err)) return false;
    std::string path = PathFor(cookie);
    std::ifstream in(path);
    if (!in) {
        if (errno == ENOENT) err->clear();
        else *err = "read " + path + ": " + std::strerror(errno);
        return false;
    }
    *out = AppliedState();
    std::string line;
    while (std::getline(in, line)) {
        size_t eq = line.find('=');
        if (eq == std::string::npos) continue;
        std::string k = line.substr(0, eq), v = line.substr(eq + 1);
        if (k == "config") out->config = v;
        else if (k == "input") out->input_hash = v;
        else if (k == "generation") out->generation = static_cast<uint32_t>(std::strtoul(v.c_str(), nullptr, 10));
        else if (k == "digest") out->digest = v;
        else if (k == "netns") out->netns = std::strtoull(v.c_str(), nullptr, 10);
    }
    if (out->input_hash.empty() || out->digest.empty()) {
        *err = "read " + path + ": no " + (out->input_hash.empty() ? "input hash" : "ruleset digest") + " in it";
        return false;
    }
    if (out->netns != cookie) {
        *err = "read " + path + ": it is for network namespace " + std::to_string(out->netns) + ", not " +
               std::to_string(cookie);
        return false;
    }
    return true;
}

bool WriteAppliedState(const AppliedState& st, std::string* err) {
    uint64_t cookie = 0;
    if (!NetnsCookie(&cookie, err)) return false;
    std::string dir = StateDir(), path = PathFor(cookie);
    if (mkdir(dir.c_str(), 0755) != 0 && errno != EEXIST) {
        *err = "mkdir " + dir + ": " + std::strerror(errno);
        return false;
    }
    std::string tmp = path + ".tmp";
    {
        std::ofstream out(tmp, std::ios::trunc);
        out << "config=" << st.config << "\ninput=" << st.input_hash << "\ngeneration=" << st.generation
            << "\ndigest=" << st.digest << "\nnetns=" << cookie << "\n";
        if (!out.flush()) {
            *err = "write " + tmp + ": " + std::strerror(errno);
            return false;
        }
    }
    if (rename(tmp.c_str(), path.c_str()) != 0) {
        *err = "rename " + tmp + ": " + std::strerror(errno);
        unlink(tmp.c_str());
        return false;
    }
    return true;
}

bool RemoveAppliedState(std::string* err) {
    std::string path;
    if (!AppliedStatePath(&path, err)) return false;
    if (unlink(path.c_str()) != 0 && errno != ENOENT) {
        *err = "remove " + path + ": " + std::strerror(errno);
        return false;
    }
    return true;
}

}  // namespace haltfw
