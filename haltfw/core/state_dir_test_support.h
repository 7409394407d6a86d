// A state directory of the test's own (core/state_file.h's
// $HALTFW_STATE_DIR), for tests of what haltfw keeps there between runs.
#pragma once

#include <stdlib.h>

#include <stdexcept>
#include <string>

#include "base/scratch_dir_test_support.h"

namespace haltfw {

/// Points $HALTFW_STATE_DIR, for the object's life, at a scratch directory
/// (tagged `tag`), or at `sub` inside it: a directory not made yet, for
/// the code under test to make.
struct ScratchStateDir : ScratchDir {
    explicit ScratchStateDir(const std::string& tag, const std::string& sub = "") : ScratchDir(tag) {
        if (path.empty()) throw std::runtime_error("no scratch state directory (mkdtemp failed)");
        setenv("HALTFW_STATE_DIR", (sub.empty() ? path : path + "/" + sub).c_str(), 1);
    }
    ~ScratchStateDir() { unsetenv("HALTFW_STATE_DIR"); }
};

}  // namespace haltfw
