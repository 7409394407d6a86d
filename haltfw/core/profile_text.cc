#include "core/profile_text.h"

namespace haltfw::profile_text {

std::string LogDropStatement(const std::string& prefix) {
    return std::string(kLogLimit) + " log prefix \"" + prefix + "\" level warn";
}

std::string Quoted(const std::string& s) { return "\"" + s + "\""; }

std::string From(int line) { return line > 0 ? "(line " + std::to_string(line) + ")" : "(default)"; }

std::string FormatRange(const PortRange& r) {
    return r.first == r.last ? std::to_string(r.first) : std::to_string(r.first) + "-" + std::to_string(r.last);
}

std::string ValueOrSet(const std::vector<std::string>& v) {
    if (v.size() == 1) return v[0];
    std::string s = "{ ";
    for (size_t i = 0; i < v.size(); ++i) s += (i ? ", " : "") + v[i];
    return s + " }";
}

std::string Ports(const std::vector<PortRange>& ranges) {
    std::vector<std::string> v;
    for (const PortRange& r : ranges) v.push_back(FormatRange(r));
    return ValueOrSet(v);
}

std::string Join(const std::vector<std::string>& v, const char* sep) {
    std::string s;
    for (size_t i = 0; i < v.size(); ++i) s += (i ? sep : "") + v[i];
    return s;
}

}  // namespace haltfw::profile_text
