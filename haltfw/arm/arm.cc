#include "arm/arm.h"

#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <sstream>

#include "arm/exitrd.h"
#include "arm/files.h"
#include "core/topology.h"
#include "core/wireguard_plan.h"
#include "nft/nft_digest.h"
#include "net/sysctl.h"

namespace haltfw {
namespace {

using Progress = std::function<void(const std::string&)>;

// The undo log of a running arm: steps in the order done, undone newest
// first.
class UndoLog {
public:
    void Push(std::string what, std::function<bool(std::string*)> undo) {
        steps_.push_back({std::move(what), std::move(undo)});
    }

    std::vector<std::string> Run(const Progress& progress) {
        std::vector<std::string> failures;
        for (auto it = steps_.rbegin(); it != steps_.rend(); ++it) {
            std::string err;
            if (it->undo(&err)) progress("undo: " + it->what);
            else failures.push_back(it->what + ": " + err);
        }
        steps_.clear();
        return failures;
    }

private:
    struct Step {
        std::string what;
        std::function<bool(std::string*)> undo;
    };
    std::vector<Step> steps_;
};

// Records how to put `path` back as it was: its previous bytes, or absent.
void PushRestore(ArmEffects* fx, UndoLog* undo, const std::string& path, bool had, std::string prev, unsigned mode) {
    if (had)
        undo->Push("put back the previous " + path, [fx, path, prev = std::move(prev), mode](std::string* err) {
            return fx->WriteFile(path, prev, mode, err);
        });
    else
        undo->Push("remove " + path, [fx, path](std::string* err) {
            bool removed;
            return fx->RemoveFile(path, &removed, err);
        });
}

// Records that `dir`, made by this arm, goes on undo.
void PushRemoveDir(ArmEffects* fx, UndoLog* undo, const std::string& dir) {
    undo->Push("remove the directory " + dir, [fx, dir](std::string* e) {
        bool removed;
        return fx->RemoveDir(dir, &removed, e);
    });
}

// Makes `dir` if it is missing; a directory it made is removed on undo.
bool MakeDirWithUndo(ArmEffects* fx, UndoLog* undo, const std::string& dir, std::string* err) {
    bool made = false;
    if (!fx->MakeDir(dir, &made, err)) return false;
    if (made) PushRemoveDir(fx, undo, dir);
    return true;
}

// Writes `content` unless the file already holds it. *changed says whether
// it wrote.
bool ReplaceFile(ArmEffects* fx, UndoLog* undo, const std::string& path, const std::string& content, unsigned mode,
                 bool* changed, std::string* err) {
    bool same = false;
    if (!fx->SameContent(path, content, &same, err)) return false;
    *changed = !same;
    if (same) return true;
    std::string prev;  // for the undo
    bool had = fx->ReadFile(path, &prev, err);
    if (!had && !err->empty()) return false;
    if (!fx->WriteFile(path, content, mode, err)) return false;
    PushRestore(fx, undo, path, had, std::move(prev), mode);
    return true;
}

bool StepExitrd(const ArmPlan& p, ArmEffects* fx, UndoLog* undo, const Progress& progress, std::string* err) {
    bool mounted = false, created = false;
    if (!fx->MountExitrd(p.exitrd, &mounted, &created, err)) return false;
    if (created) PushRemoveDir(fx, undo, p.exitrd);
    if (mounted)
        undo->Push("unmount the exitrd " + p.exitrd, [fx, root = p.exitrd](std::string* e) {
            bool lazy;
            return fx->UnmountExitrd(root, &lazy, e);
        });
    progress(mounted ? "exitrd: mounted a tmpfs on " + p.exitrd + " (mode 0700, exec allowed)"
                     : "exitrd: " + p.exitrd + " is already haltfw's tmpfs; updating it in place");
    if (p.files_current) {
        // Judged on the tmpfs that was there: a new, empty one holds nothing.
        if (mounted) {
            *err = "exitrd " + p.exitrd + ": it was not mounted any more when arm came to it; arm again";
            return false;
        }
        size_t n = p.recorded_files;
        progress("exitrd: final stage " + ExitrdShutdownPath(p.exitrd) + " unchanged (" + std::to_string(n) +
                 (n == 1 ? " file" : " files") + ", as the last arm recorded " + (n == 1 ? "it" : "them") + " in " +
                 ExitrdRecordPath(p.exitrd) + ")");
        return true;
    }

    bool any_changed = false;
    size_t lib_bytes = 0;
    for (const ExitrdFile& f : p.files) {
        // The directories up to the file (for a library: /lib/x86_64-linux-gnu).
        for (size_t slash = f.path.find('/', 1); slash != std::string::npos; slash = f.path.find('/', slash + 1)) {
            if (!MakeDirWithUndo(fx, undo, p.exitrd + f.path.substr(0, slash), err)) return false;
        }
        bool changed = false;
        if (!ReplaceFile(fx, undo, p.exitrd + f.path, f.bytes, f.mode, &changed, err)) return false;
        any_changed |= changed;
        if (f.path != "/shutdown") lib_bytes += f.bytes.size();
    }
    std::string path = ExitrdShutdownPath(p.exitrd);
    size_t self = p.files.empty() ? 0 : p.files.front().bytes.size();
    std::string what = p.files.size() <= 1
                           ? " (" + std::to_string(self) + " bytes, static)"
                           : " (" + std::to_string(self) + " bytes) with its loader and " +
                                 std::to_string(p.files.size() - 2) + " librar" + (p.files.size() == 3 ? "y" : "ies") +
                                 " (" + std::to_string(lib_bytes) + " bytes)";
    progress(any_changed ? "exitrd: installed the final stage as " + path + what
                         : "exitrd: final stage " + path + " unchanged");
    return true;
}

// haltfw-inert beside /shutdown; without one, one an earlier arm left goes,
// so that the final stage never execs a program of another build.
bool StepInert(const ArmPlan& p, ArmEffects* fx, UndoLog* undo, const Progress& progress, std::string* err) {
    std::string path = ExitrdInertPath(p.exitrd);
    if (p.files_current) {
        progress(p.recorded_inert
                     ? "exitrd: inert program " + path + " unchanged (as the last arm recorded it)"
                     : "exitrd: no inert program: once halted the final stage stays PID 1, its files in memory");
        return true;
    }
    if (p.inert) {
        bool changed = false;
        if (!ReplaceFile(fx, undo, path, p.inert->bytes, p.inert->mode, &changed, err)) return false;
        progress(changed ? "exitrd: installed the inert program as " + path + " (" +
                               std::to_string(p.inert->bytes.size()) + " bytes, static)"
                         : "exitrd: inert program " + path + " unchanged");
        return true;
    }
    std::string prev;
    bool had = fx->ReadFile(path, &prev, err);
    if (!had && !err->empty()) return false;
    bool removed = false;
    if (had && !fx->RemoveFile(path, &removed, err)) return false;
    if (removed) PushRestore(fx, undo, path, true, std::move(prev), 0755);
    progress(std::string("exitrd: no inert program") + (removed ? " (removed " + path + " of an earlier arm)" : "") +
             ": once halted the final stage stays PID 1, its files in memory");
    return true;
}

// Writes the guards; *changed says whether any file changed.
bool StepGuards(const ArmPlan& p, ArmEffects* fx, UndoLog* undo, const Progress& progress, bool* changed,
                std::string* err) {
    *changed = false;
    for (const DropIn& d : p.guards) {
        if (!MakeDirWithUndo(fx, undo, d.path.substr(0, d.path.rfind('/')), err)) return false;
        bool wrote = false;
        if (!ReplaceFile(fx, undo, d.path, d.content, 0644, &wrote, err)) return false;
        progress(wrote ? "guard: wrote " + d.path : "guard: " + d.path + " unchanged");
        *changed |= wrote;
    }
    if (p.guards.empty()) progress("guard: none written: " + p.no_guards_why);
    return true;
}

bool StepManifest(const ArmPlan& p, ArmEffects* fx, UndoLog* undo, const Progress& progress, std::string* err) {
    std::string path = ExitrdManifestPath(p.exitrd);
    std::string desc = "(digest " + p.manifest.digest + ", " + std::to_string(p.manifest.links.size()) + " links, " +
                       std::to_string(p.manifest.ruleset.size()) + " ruleset objects)";
    bool same = false;
    std::string text = SerializeManifest(p.manifest);
    bool compared = fx->SameContent(path, text, &same, err);
    WipeBytes(text.data(), text.size());  // it may hold WireGuard keys
    if (!compared) return false;
    if (same) {
        progress("manifest: " + path + " unchanged " + desc);
        return true;
    }
    std::string prev;  // for the undo
    bool had = fx->ReadFile(path, &prev, err);
    if (!had && !err->empty()) return false;
    if (!fx->WriteManifest(path, p.manifest, err)) return false;
    PushRestore(fx, undo, path, had, std::move(prev), 0600);
    progress("manifest: wrote " + path + " " + desc);
    return true;
}

// The netconsole target as the manifest has it: made (or left, if it is
// there, enabled and the same), or one an earlier arm made removed. The
// undo is pushed before the change: a target half made is put back too.
bool StepNetconsole(const ArmPlan& p, ArmEffects* fx, UndoLog* undo, const Progress& progress, std::string* err) {
    NetconsoleState now;
    if (!fx->ReadNetconsole(&now, err)) return false;
    const std::optional<NetconsoleTarget>& want = p.manifest.netconsole;
    if (!want && !now.present) return true;
    if (want && now.present && now.enabled && now.target == *want) {
        progress("netconsole: target " + want->Describe() + " unchanged (mac " + want->remote_mac + ")");
        return true;
    }
    undo->Push("put the netconsole target back as it was", [fx, now](std::string* e) {
        return fx->RestoreNetconsole(now, e);
    });
    if (!want) {
        if (!fx->RestoreNetconsole(NetconsoleState{}, err)) return false;
        progress("netconsole: removed the target " + now.target.Describe() + " (no [halt] netconsole now)");
        return true;
    }
    if (!fx->WriteNetconsole(*want, err)) {
        *err = "netconsole target " + want->Describe() + ": " + *err;
        return false;
    }
    progress("netconsole: target " + want->Describe() + " enabled (mac " + want->remote_mac + ", from " +
             p.netconsole_mac_from + ")");
    return true;
}

}  // namespace

std::optional<NetconsoleTarget> NetconsoleFor(
    const Config& cfg, const std::vector<ResolvedInterface>& ifs,
    const std::function<std::optional<MacAddr>(const std::string& dev, const IpAddr& ip)>& neighbour,
    std::string* mac_from) {
    const std::optional<NetconsoleSpec>& nc = cfg.halt.netconsole;
    if (!nc) return std::nullopt;
    const ResolvedInterface* r = nullptr;
    for (const ResolvedInterface& i : ifs)
        if (i.config && i.config->role == nc->role && i.link) r = &i;
    if (!r) return std::nullopt;
    NetconsoleTarget t{r->link->name, FormatIp(nc->local), FormatIp(nc->remote), std::to_string(nc->port), ""};
    std::optional<MacAddr> mac = nc->mac;
    *mac_from = "netconsole-mac";
    if (!mac && neighbour && (mac = neighbour(t.dev, nc->remote))) *mac_from = "the neighbour table";
    if (!mac) {
        mac = MacAddr{0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
        *mac_from = "broadcast: no neighbour entry for " + t.remote_ip + " on " + t.dev;
    }
    t.remote_mac = FormatMac(*mac);
    return t;
}

std::optional<MacAddr> NeighbourMac(const std::string& dev, const IpAddr& ip) {
    if (ip.family != AF_INET) return std::nullopt;
    std::string text, err;
    if (!ReadWholeFile("/proc/net/arp", &text, &err)) return std::nullopt;
    // "IP address  HW type  Flags  HW address  Mask  Device", one entry a
    // line; flags 0x2 (ATF_COM): resolved.
    std::istringstream in(text);
    std::string line;
    std::getline(in, line);
    while (std::getline(in, line)) {
        std::istringstream f(line);
        std::string addr, type, flags, hw, mask, device;
        if (!(f >> addr >> type >> flags >> hw >> mask >> device)) continue;
        if (device != dev || addr != FormatIp(ip)) continue;
        if ((std::strtoul(flags.c_str(), nullptr, 16) & 0x2) == 0) return std::nullopt;
        std::optional<MacAddr> mac = ParseMac(hw);
        if (mac && *mac != MacAddr{}) return mac;
    }
    return std::nullopt;
}

std::vector<std::pair<std::string, std::string>> HaltSysctls(const Config& cfg) {
    std::vector<std::pair<std::string, std::string>> out;
    std::string why;
    for (const SysctlSetting& s : cfg.sysctls)
        if (CheckSysctlKey(s.key, &why)) out.emplace_back(s.key, s.value);
    return out;
}

Manifest BuildManifest(const Config& cfg, const std::vector<ResolvedInterface>& ifs, const NftRuleset& ruleset,
                       const SysctlReader& read_live) {
    Manifest m;
    m.version = HALTFW_VERSION;
    m.ruleset = ruleset;
    m.digest = RulesetDigest(ruleset);
    m.ctrl_alt_del = CtrlAltDelWord(cfg.halt.ctrl_alt_del);
    m.sysrq = cfg.halt.sysrq;
    m.heartbeat_s = cfg.halt.heartbeat_s;
    for (const ResolvedInterface& r : ifs) {
        if (!r.link) continue;
        ManifestLink l{r.config->role, r.link->name, {}};
        for (const AddressSpec& a : r.config->addresses) l.addresses.push_back(a.prefix);
        l.mtu = r.config->mtu.value_or(0);
        for (const auto& [route, line] : WantedRoutes(*r.config, r.link->index))
            l.routes.push_back({route.dst, route.gateway, route.metric});
        l.ports = r.config->bridge_ports;
        l.silent = r.config->IsSilentBridge();
        if (r.config->IsBridge()) l.bridge = Link::BridgeOptions{kBridgeStpState, kBridgeAgeingCentis, kBridgeMcastSnooping};
        if (r.config->IsVlan()) {
            l.vlan_parent = r.config->vlan_parent;
            l.vlan_id = r.config->vlan_id;
        }
        l.ifindex = r.link->index;
        m.links.push_back(std::move(l));
        if (IsWireguard(*r.config) && r.config->wireguard->private_key) {
            m.wireguard.push_back(WantedWireguard(cfg, *r.config));
            m.wireguard.back().name = r.link->name;
        }
    }
    for (auto [key, value] : HaltSysctls(cfg)) {
        std::string live;
        bool exists = !read_live || read_live(key, &live);
        if (!exists) continue;  // a built-in default this kernel lacks: apply skipped it too
        if (read_live && SysctlValuesEqual(live, value)) value = live;
        m.sysctls.emplace_back(key, value);
    }
    return m;
}

ArmResult ArmHalt(const ArmPlan& p, ArmEffects* fx, const Progress& progress) {
    ArmResult res;
    UndoLog undo;
    bool guards_changed = false, reloaded = false;
    std::string err;
    // Steps in order; the manifest last, since its presence is what makes
    // the final stage act as a firewall.
    bool ok = StepExitrd(p, fx, &undo, progress, &err) && StepInert(p, fx, &undo, progress, &err) &&
              StepGuards(p, fx, &undo, progress, &guards_changed, &err) && StepNetconsole(p, fx, &undo, progress, &err);
    if (ok && guards_changed && p.reload) {
        ok = fx->Reload(&err);
        if (ok) progress("systemd: daemon-reload done: the guards are in effect");
        reloaded = ok;
    } else if (ok && guards_changed) {
        progress("systemd: " + p.no_reload_why + "; daemon-reload skipped");
    }
    ok = ok && StepManifest(p, fx, &undo, progress, &err);
    if (ok) return res;

    res.ok = false;
    res.error = err;
    res.undo_failures = undo.Run(progress);
    // After the guards are back as they were, so systemd sees them so.
    if (reloaded) {
        std::string e;
        if (fx->Reload(&e)) progress("undo: systemd daemon-reload");
        else res.undo_failures.push_back("systemd daemon-reload: " + e);
    }
    return res;
}

DisarmResult DisarmHalt(const DisarmPlan& p, ArmEffects* fx, const Progress& progress) {
    DisarmResult res;
    auto failed = [&](const std::string& e) {
        res.ok = false;
        res.errors.push_back(e);
    };
    std::string err;
    bool removed = false;
    std::string manifest = ExitrdManifestPath(p.exitrd);
    if (!fx->RemoveFile(manifest, &removed, &err)) failed(err);
    else if (removed) ++res.removed, progress("removed the manifest " + manifest);

    // The netconsole target goes with the arm that made it.
    NetconsoleState nc;
    if (!fx->ReadNetconsole(&nc, &err)) failed(err);
    else if (nc.present && !fx->RestoreNetconsole(NetconsoleState{}, &err)) failed(err);
    else if (nc.present) ++res.removed, progress("removed the netconsole target " + nc.target.Describe());

    // The final stage goes with the mount. A bare directory is left alone:
    // its `shutdown` would not be haltfw's (dracut puts one there).
    if (p.exitrd_mounted) {
        bool lazy = false;
        if (!fx->UnmountExitrd(p.exitrd, &lazy, &err)) failed(err);
        else {
            ++res.removed;
            progress("unmounted the exitrd " + p.exitrd + " with the final stage" +
                     (lazy ? " (lazily: it was busy)" : ""));
            if (!fx->RemoveDir(p.exitrd, &removed, &err)) failed(err);
        }
    }

    int guards = 0;
    for (const GuardableUnit& g : GuardableUnits()) {
        std::string path = DropInPath(p.unit_dir, g.unit);
        if (!fx->RemoveFile(path, &removed, &err)) {
            failed(err);
            continue;
        }
        if (!removed) continue;
        ++guards, ++res.removed;
        progress("removed the guard " + path);
        if (!fx->RemoveDir(path.substr(0, path.rfind('/')), &removed, &err)) failed(err);
    }
    if (guards && p.reload) {
        if (fx->Reload(&err)) progress("systemd: daemon-reload done: the units stop as before");
        else failed(err);
    } else if (guards) {
        progress("systemd: " + p.no_reload_why + "; daemon-reload skipped");
    }
    return res;
}

std::string ArmedVerdict(const ArmFacts& f, bool* armed) {
    std::string manifest = ExitrdManifestPath(f.exitrd);
    std::vector<std::string> why;
    if (!f.mounted && !f.manifest_present) why.push_back("not armed");
    if (f.mounted && !f.usable)
        why.push_back("exitrd " + f.exitrd + " is a mount of " + f.mount_desc + ", not haltfw's tmpfs");
    if (!f.mounted && f.manifest_present) why.push_back("exitrd " + f.exitrd + " is not mounted");
    if (f.usable && !f.final_ok)
        why.push_back("final stage " + ExitrdShutdownPath(f.exitrd) + " missing or not executable");
    if (f.mounted && !f.manifest_present) why.push_back("manifest " + manifest + " missing");
    if (f.manifest_present && !f.manifest_error.empty()) why.push_back("manifest unusable: " + f.manifest_error);
    if (!why.empty() && why[0] == "not armed") {
        *armed = false;
        return "armed: no (not armed)";
    }
    for (const std::string& g : f.guards_missing) why.push_back("guard " + g + " missing");
    for (const std::string& g : f.guards_changed) why.push_back("guard " + g + " changed");
    if (f.manifest_present && f.manifest_error.empty() && !f.live_digest.empty() && f.live_digest != f.armed_digest)
        why.push_back("the live ruleset digest now differs from the armed one (" + f.armed_digest + ")");
    *armed = why.empty();
    if (*armed) return "armed: yes (digest " + f.armed_digest + ", manifest " + manifest + ")";
    std::string line = "armed: no (";
    for (size_t i = 0; i < why.size(); ++i) line += (i ? "; " : "") + why[i];
    return line + ")";
}

// ---- the real effects -------------------------------------------------------

namespace {

class LinuxEffects : public ArmEffects {
public:
    explicit LinuxEffects(std::function<bool(std::string*)> reload) : reload_(std::move(reload)) {}

    bool MountExitrd(const std::string& root, bool* mounted, bool* created_dir, std::string* err) override {
        return haltfw::MountExitrd(root, mounted, created_dir, err);
    }
    bool UnmountExitrd(const std::string& root, bool* lazy, std::string* err) override {
        return haltfw::UnmountExitrd(root, lazy, err);
    }
    bool ReadFile(const std::string& path, std::string* content, std::string* err) override {
        return ReadWholeFile(path, content, err);
    }
    bool SameContent(const std::string& path, const std::string& content, bool* same, std::string* err) override {
        return FileHolds(path, content, same, err);
    }
    bool WriteFile(const std::string& path, const std::string& content, unsigned mode, std::string* err) override {
        return WriteFileAtomic(path, content, mode, err);
    }
    bool WriteManifest(const std::string& path, const Manifest& m, std::string* err) override {
        return WriteManifestFile(path, m, err);
    }
    bool RemoveFile(const std::string& path, bool* removed, std::string* err) override {
        return haltfw::RemoveFile(path, removed, err);
    }
    bool MakeDir(const std::string& path, bool* created, std::string* err) override {
        *created = false;
        if (mkdir(path.c_str(), 0755) == 0) {
            *created = true;
            return true;
        }
        struct stat st {};
        if (errno == EEXIST && stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode)) return true;
        *err = "mkdir " + path + ": " + (errno == EEXIST ? "exists and is not a directory" : std::strerror(errno));
        return false;
    }
    bool RemoveDir(const std::string& path, bool* removed, std::string* err) override {
        *removed = rmdir(path.c_str()) == 0;
        if (*removed || errno == ENOENT || errno == ENOTEMPTY || errno == EEXIST) return true;
        *err = "rmdir " + path + ": " + std::strerror(errno);
        return false;
    }
    bool Reload(std::string* err) override { return reload_(err); }
    bool ReadNetconsole(NetconsoleState* st, std::string* err) override {
        return haltfw::ReadNetconsole(kConfigfsRoot, st, err);
    }
    bool WriteNetconsole(const NetconsoleTarget& t, std::string* err) override {
        return ConfigfsMounted(err) && haltfw::WriteNetconsole(kConfigfsRoot, t, err);
    }
    bool RestoreNetconsole(const NetconsoleState& st, std::string* err) override {
        return haltfw::RestoreNetconsole(kConfigfsRoot, st, err);
    }

private:
    // systemd mounts configfs at boot (sys-kernel-config.mount); a box
    // without it gets the mount here, and keeps it.
    static bool ConfigfsMounted(std::string* err) {
        constexpr long kConfigfsMagic = 0x62656570;  // linux/magic.h's CONFIGFS_MAGIC
        struct statfs st {};
        if (statfs(kConfigfsRoot, &st) == 0 && st.f_type == kConfigfsMagic) return true;
        if (mount("configfs", kConfigfsRoot, "configfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, nullptr) == 0) return true;
        *err = std::string("mount configfs on ") + kConfigfsRoot + ": " + std::strerror(errno);
        return false;
    }

    std::function<bool(std::string*)> reload_;
};

}  // namespace

std::unique_ptr<ArmEffects> LinuxArmEffects(std::function<bool(std::string*)> reload) {
    return std::make_unique<LinuxEffects>(std::move(reload));
}

}  // namespace haltfw
