// A scratch directory for the tests of halt/'s file code: under $TMPDIR
// (or /tmp), removed with the files in it (no subdirectories).
#pragma once

#include <dirent.h>
#include <stdlib.h>
#include <unistd.h>

#include <cstring>
#include <string>

namespace haltfw {

struct ScratchDir {
    std::string path;
    ScratchDir() {
        const char* tmp = getenv("TMPDIR");
        std::string templ = std::string(tmp && *tmp ? tmp : "/tmp") + "/haltfw-halt-test-XXXXXX";
        path = mkdtemp(templ.data()) ? templ : "";
    }
    ~ScratchDir() {
        if (path.empty()) return;
        if (DIR* d = opendir(path.c_str())) {
            while (dirent* e = readdir(d))
                if (std::strcmp(e->d_name, ".") != 0 && std::strcmp(e->d_name, "..") != 0)
                    (void)unlink((path + "/" + e->d_name).c_str());
            closedir(d);
        }
        (void)rmdir(path.c_str());
    }
    ScratchDir(const ScratchDir&) = delete;
    ScratchDir& operator=(const ScratchDir&) = delete;
};

}  // namespace haltfw
