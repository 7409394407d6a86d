#include "cli/live_state.h"

#include <net/if.h>
#include <unistd.h>

#include <fstream>
#include <memory>
#include <set>
#include <vector>

#include "arm/guards.h"
#include "core/diag.h"
#include "core/nft_load.h"
#include "core/nft_trial.h"
#include "core/watchdogs.h"
#include "core/wireguard_config.h"
#include "net/rtnl.h"
#include "net/sysctl.h"
#include "net/wireguard.h"
#include "nft/nft_digest.h"

namespace haltfw::cli {

void RulesetFailed(const std::string& nft_messages) {
    out.Detail(Priority::kErr, nft_messages);
    Fail("the ruleset does not load; nothing changed");
}

bool LoadConfigOrSay(const Globals& g, Config* cfg) {
    Diagnostics diags;
    *cfg = LoadConfig(g.config, &diags);
    if (!diags.ok()) {
        out.Detail(Priority::kErr, diags.FormatErrors());
        Fail(Count(diags.errors().size(), "error") + " in " + g.config + "; nothing changed");
        return false;
    }
    // Warnings (which of two default routes wins, say): said, not fatal.
    if (std::string w = diags.FormatWarnings(); !w.empty()) out.Detail(Priority::kWarning, w);
    return true;
}

namespace {

// The devices apply would create (a VLAN, a bridge, a WireGuard device)
// that do not exist yet.
std::vector<std::string> DevicesToCreate(const Config& cfg) {
    std::vector<std::string> out;
    for (const InterfaceConfig& c : cfg.interfaces)
        if ((c.IsBridge() || c.IsVlan() || IsWireguard(c)) && !c.device.empty() &&
            if_nametoindex(c.device.c_str()) == 0)
            out.push_back(c.device);
    return out;
}

// `nft -c` in this namespace, or, when a device apply would create is not
// there yet (a flowtable or a netdev chain may name it, and nft -c would
// fail with ENOENT), a trial load in a scratch namespace with stand-ins for
// every link here and for those devices.
bool CheckRuleset(const Config& cfg, const std::string& program, std::string* err) {
    std::vector<std::string> created = DevicesToCreate(cfg);
    if (created.empty()) return NftCheck(program, err);
    std::vector<std::string> names;
    if (struct if_nameindex* ifs = if_nameindex()) {
        for (struct if_nameindex* i = ifs; i->if_index != 0; ++i) names.emplace_back(i->if_name);
        if_freenameindex(ifs);
    }
    names.insert(names.end(), created.begin(), created.end());
    NftRuleset scratch;
    return TrialLoad(program, names, &scratch, err);
}

}  // namespace

bool LoadChecked(const Globals& g, Config* cfg, std::string* program, bool check_ruleset) {
    if (!LoadConfigOrSay(g, cfg)) return false;
    *program = RulesetProgram(*cfg);
    std::string err;
    if (check_ruleset && !CheckRuleset(*cfg, *program, &err)) {
        RulesetFailed(err);
        return false;
    }
    return true;
}

PlanInputs LiveInputs(bool ruleset_current) {
    PlanInputs in;
    in.read_sysctl = [](const std::string& k, std::string* v) {
        std::string err;
        return ReadSysctl(k, v, &err);
    };
    in.module_present = [](const std::string& m) {
        std::string name = m;
        for (char& c : name)
            if (c == '-') c = '_';
        return access(("/sys/module/" + name).c_str(), F_OK) == 0;
    };
    // One socket for the whole plan, opened when a WireGuard device is
    // first read (a config without one never needs the family).
    auto wg = std::make_shared<std::unique_ptr<WgSocket>>();
    in.read_wireguard = [wg](const std::string& dev, WgDevice* d, std::string* err) {
        if (!*wg && !(*wg = WgSocket::Open(err))) return false;
        return (*wg)->GetDevice(dev, d, err);
    };
    in.ruleset_current = ruleset_current;
    return in;
}

bool AddRuleset(Live* live) {
    if (!live->digest.empty() && live->ruleset_generation == live->generation) return true;  // no commit since
    std::string err;
    if (!DumpRuleset(&live->ruleset, &err, &live->ruleset_generation)) {
        Fail(err);
        return false;
    }
    live->digest = RulesetDigest(live->ruleset);
    return true;
}

bool ReadLive(const Config& cfg, bool with_ruleset, Live* live) {
    std::string err;
    std::unique_ptr<RtnlSocket> rtnl = RtnlSocket::Open(&err);
    if (!rtnl || !rtnl->Dump(&live->net, &err) || !RulesetGeneration(&live->generation, &err) ||
        !RulesetInputHash(cfg, &live->input_hash, &err)) {
        Fail(err);
        return false;
    }
    live->has_applied = ReadAppliedState(&live->applied, &err);
    if (!err.empty()) Warn(err + ", ignoring");
    bool same = live->has_applied && live->applied.input_hash == live->input_hash &&
                live->applied.generation == live->generation;
    if ((with_ruleset || same) && !AddRuleset(live)) return false;
    live->ruleset_current = same && live->applied.digest == live->digest;
    return true;
}

std::string AppliedVerdict(const Live& live) {
    const AppliedState& a = live.applied;
    if (!live.has_applied) return "never applied by haltfw in this network namespace";
    if (live.ruleset_current) return "as applied from this config (generation " + std::to_string(live.generation) + ")";
    if (a.input_hash != live.input_hash)
        return "the rules files or the files they include changed since the last apply";
    if (a.generation != live.generation)
        return "changed since the last apply (generation " + std::to_string(a.generation) + ", now " +
               std::to_string(live.generation) + ")";
    return "changed since the last apply (generation " + std::to_string(a.generation) + " as then, but digest " +
           live.digest.substr(0, 12) + " where apply left " + a.digest.substr(0, 12) + ")";
}

namespace {

// /proc/meminfo's MemAvailable in KiB; 0 if it cannot be read.
uint64_t MemAvailableKib() {
    std::ifstream in("/proc/meminfo");
    std::string key;
    uint64_t value = 0;
    while (in >> key >> value) {
        if (key == "MemAvailable:") return value;
        in.ignore(256, '\n');
    }
    return 0;
}

}  // namespace

Readiness AssessLive(const Config& cfg, const std::string& program, const Live& live, const Plan& plan) {
    ReadinessInputs in;
    in.config = &cfg;
    in.state = &live.net;
    in.interfaces = &plan.interfaces;
    in.live = &live.ruleset;
    // The config's ruleset: the live one if apply loaded it and nothing
    // changed it since, else a trial load in a scratch namespace.
    // Stand-ins for the live links in the scratch namespaces below.
    // And for the devices apply would create (a VLAN, a bridge, a
    // WireGuard device), which a flowtable may name.
    std::vector<std::string> names;
    std::set<std::string> have;
    for (const Link& l : live.net.links)
        if (have.insert(l.name).second) names.push_back(l.name);
    for (const InterfaceConfig& c : cfg.interfaces)
        if ((c.IsBridge() || c.IsVlan() || IsWireguard(c)) && have.insert(c.device).second) names.push_back(c.device);
    NftRuleset trial;
    if (live.ruleset_current) {
        in.ruleset = &live.ruleset;
    } else {
        std::string err;
        if (TrialLoad(program, names, &trial, &err)) in.ruleset = &trial;
        else in.ruleset_note = "a trial load in a scratch network namespace failed: " + err;
    }
    // What is armed must be what the final stage can put back: tried now,
    // in a scratch namespace, rather than found out after the halt.
    if (in.ruleset) {
        std::string err;
        if (!TrialRestore(*in.ruleset, names, &in.restore_problem, &err))
            in.restore_problem = "the trial itself failed: " + err;
    }
    // Whether a family forwards, where [sysctl] does not say.
    in.read_sysctl = LiveInputs(live.ruleset_current).read_sysctl;
    in.firewalld_installed = access("/usr/sbin/firewalld", F_OK) == 0;
    in.mem_available_kib = MemAvailableKib();
    in.networkmanager_installed = access("/usr/sbin/NetworkManager", F_OK) == 0;
    // The real-time clock, by its driver's name (WireGuard's handshake
    // timestamps across a reboot; longevity.h).
    in.rtc_read = true;
    // Only one the kernel set its clock from at boot (hctosys) counts.
    std::string hctosys;
    if (std::ifstream f("/sys/class/rtc/rtc0/hctosys"); f) std::getline(f, hctosys);
    if (hctosys == "1") {
        std::string name;
        if (std::ifstream f("/sys/class/rtc/rtc0/name"); f) std::getline(f, name);
        in.rtc = name.empty() ? "rtc0" : "rtc0, " + name;
    }
    in.watchdogs = ReadWatchdogs();
    Readiness r = AssessReadiness(in);
    for (const Diagnostic& d : plan.problems.errors()) r.blockers.push_back(d.message);
    GuardFacts facts;
    std::string err;
    if (!ReadGuardFacts(SysRoot(), &facts, &err))
        r.blockers.push_back("cannot read the shutdown units' settings: " + err);
    for (const std::string& b : GuardBlockers(facts)) r.blockers.push_back(b);
    return r;
}

void PrintReadiness(const Readiness& r) {
    for (const std::string& b : r.blockers) out.Result("BLOCKER: " + b, Priority::kErr);
    for (const std::string& w : r.warnings) out.Result("WARNING: " + w, Priority::kWarning);
    if (out.verbose())
        for (const std::string& f : r.fine) out.Result("fine: " + f);
}

std::string Count(size_t n, const std::string& what) { return std::to_string(n) + " " + what + (n == 1 ? "" : "s"); }

int TakeSnapshot(const Globals& g, Snapshot* s) {
    if (!LoadChecked(g, &s->cfg, &s->program)) return kBadInput;
    if (!ReadLive(s->cfg, true, &s->live)) return kSystem;
    s->plan = ComputePlan(s->cfg, s->live.net, LiveInputs(s->live.ruleset_current));
    return kOk;
}

}  // namespace haltfw::cli
