#include "final/verify_only.h"

#include <cstdio>
#include <optional>
#include <string>
#include <vector>

#include "halt/final_stage.h"
#include "halt/manifest.h"
#include "halt/proc_status.h"
#include "halt/report.h"
#include "halt/sys_files.h"

namespace haltfw {

int VerifyOnly(const char* manifest_path) {
    Manifest m;
    std::string err;
    // The ruleset stays in the file until a restore needs it (VerifyRuleset).
    if (!ReadManifestFile(manifest_path, &m, &err, ManifestRuleset::kLeaveInFile)) {
        std::fprintf(stderr, "haltfw-final: %s\n", err.c_str());
        return 2;
    }
    std::string digest;
    int addresses = 0;
    // As the final stage orders them: bridges, VLANs and WireGuard devices
    // before the ruleset that may name them (read whole if one was
    // repaired), their lines after the ruleset's.
    DeviceRepairs devices = RemakeDevices(m);
    std::optional<Check> wireguard;
    if (!m.wireguard.empty()) wireguard = VerifyWireguard(m);
    std::vector<Check> checks = {
        VerifyRuleset(m, &digest, nullptr, nullptr, devices.changed || (wireguard && wireguard->repaired))};
    if (wireguard) checks.push_back(*wireguard);
    checks.push_back(VerifyLinks(m, &addresses, devices));
    checks.push_back(VerifySysctls(m));
    HaltReport r;
    r.version = HALTFW_VERSION;
    r.lines.push_back("verify only (not PID 1): manifest " + std::string(manifest_path));
    for (const Check& c : checks) r.lines.push_back(c.name + ": " + c.detail);
    if (!checks[0].ok) {
        std::vector<std::string> down;
        std::vector<std::string> failed = ForwardingOff(m, &down);
        r.lines.push_back("forwarding: turned OFF for every family (fail closed)" +
                          (down.empty() ? "" : "; bridges set down: " + JoinList(down)) +
                          (failed.empty() ? "" : "; FAILED: " + JoinList(failed)));
    }
    // The checks' peak resident set, as the final stage's report gives it:
    // what a halt with this manifest needs (core/readiness.cc).
    long rss_peak = StatusKib(ReadSysFile("/proc/self/status"), "VmHWM");
    r.lines.push_back("memory: final stage peak resident " + std::to_string(rss_peak) + " KiB");
    for (const Check& c : checks)
        if (!c.ok && r.reason.empty()) r.reason = c.name;
    r.ok = r.reason.empty();
    r.fields = {{"digest", digest},
                {"links", std::to_string(m.links.size())},
                {"addresses", std::to_string(addresses)},
                {"restored", checks[0].repaired ? "1" : "0"},
                {"rss_peak_kib", std::to_string(rss_peak)}};
    if (wireguard && wireguard->ok) r.fields.push_back({"wireguard", WireguardDigest(m.wireguard)});
    std::fputs(FormatReport(r).c_str(), stdout);
    return r.ok ? 0 : 1;
}

}  // namespace haltfw
