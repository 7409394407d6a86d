// The PlanInputs the plan tests start from: a kernel where every sysctl of
// the config already holds its configured value, every module is present
// and the ruleset is current. Shared by the unit tests of plan, topology
// and WireGuard planning.
#pragma once

#include <functional>
#include <map>
#include <string>
#include <utility>

#include "core/plan.h"

namespace haltfw {

/// Every sysctl of `c` at its configured value, except the ones
/// `overrides` gives; with `exists`, a key it refuses is not in the kernel.
inline PlanInputs SettledInputs(const Config& c, const std::map<std::string, std::string>& overrides = {},
                                std::function<bool(const std::string&)> exists = nullptr) {
    std::map<std::string, std::string> values;
    for (const SysctlSetting& s : c.sysctls) values[s.key] = s.value;
    for (const auto& [k, v] : overrides) values[k] = v;
    PlanInputs in;
    in.read_sysctl = [values = std::move(values), exists = std::move(exists)](const std::string& k, std::string* v) {
        if (exists && !exists(k)) return false;
        auto it = values.find(k);
        if (it == values.end()) return false;
        *v = it->second;
        return true;
    };
    in.module_present = [](const std::string&) { return true; };
    in.ruleset_current = true;
    return in;
}

}  // namespace haltfw
