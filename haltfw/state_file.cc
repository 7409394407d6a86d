#include "state_file.h"

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

std::string AppliedStatePath() {
    // The network namespace's inode tells namespaces apart; in the initial
    // namespace it is stable for the life of the boot, like /run itself.
    struct stat st {};
    std::string ns = stat("/proc/self/ns/net", &st) == 0 ? std::to_string(st.st_ino) : "unknown";
    return StateDir() + "/applied-" + ns;
}

bool ReadAppliedState(AppliedState* out, std::string* err) {
    std::string path = AppliedStatePath();
    std::ifstream in(path);
    if (!in) {
        if (errno == ENOENT) err->clear();
        else *err = "read " + path + ": " + std::strerror(errno);
        return false;
    }
    std::string line;
    while (std::getline(in, line)) {
        size_t eq = line.find('=');
        if (eq == std::string::npos) continue;
        std::string k = line.substr(0, eq), v = line.substr(eq + 1);
        if (k == "config") out->config = v;
        else if (k == "input") out->input_hash = v;
        else if (k == "generation") out->generation = static_cast<uint32_t>(std::strtoul(v.c_str(), nullptr, 10));
    }
    if (out->input_hash.empty()) {
        *err = "read " + path + ": no input hash in it";
        return false;
    }
    return true;
}

bool WriteAppliedState(const AppliedState& st, std::string* err) {
    std::string dir = StateDir();
    if (mkdir(dir.c_str(), 0755) != 0 && errno != EEXIST) {
        *err = "mkdir " + dir + ": " + std::strerror(errno);
        return false;
    }
    std::string path = AppliedStatePath();
    std::string tmp = path + ".tmp";
    {
        std::ofstream out(tmp, std::ios::trunc);
        out << "config=" << st.config << "\ninput=" << st.input_hash << "\ngeneration=" << st.generation << "\n";
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

}  // namespace haltfw
