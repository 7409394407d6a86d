// What the fakes of an effects interface (core's System, arm's ArmEffects)
// share: every call recorded as one line, and one kind of call made to fail.
#pragma once

#include <string>
#include <vector>

namespace haltfw {

struct FakeCalls {
    std::vector<std::string> calls;  ///< Every call, in order, one line each.
    std::string fail_on;             ///< A call whose line starts so fails; empty: none.

    /// Records `call`; if it is one to fail, sets *err to `refusal` and
    /// returns false.
    bool Do(const std::string& call, std::string* err, const std::string& refusal = "refused") {
        calls.push_back(call);
        if (fail_on.empty() || call.rfind(fail_on, 0) != 0) return true;
        *err = refusal;
        return false;
    }
};

}  // namespace haltfw
