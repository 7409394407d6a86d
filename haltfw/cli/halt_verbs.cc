// The verbs of the halt: arm, disarm, halt and watch. Each is a sequence of
// steps of the arm layer: the exitrd's files (arm/final_stage_files.h), the
// halt preparation (arm/arm.h) and the ruleset watcher's handshake
// (arm/watcher_link.h).
#include "cli/halt_verbs.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <vector>

#include "arm/arm.h"
#include "arm/exitrd.h"
#include "arm/files.h"
#include "arm/final_stage_files.h"
#include "arm/guards.h"
#include "arm/systemd_bus.h"
#include "arm/watcher_link.h"
#include "base/exitrd_layout.h"
#include "cli/apply_verb.h"
#include "cli/live_state.h"
#include "cli/verbs.h"
#include "core/pstore.h"
#include "halt/manifest.h"
#include "halt/watch_state.h"
#include "net/sysctl.h"
#include "nft/ruleset_stamp.h"

namespace haltfw::cli {
namespace {

struct ArmOptions {
    /// --final, else $HALTFW_FINAL, else HALTFW_FINAL_PATH; with the
    /// installed final stage HALTFW_INERT_PATH (required: the package ships
    /// both); with another one, haltfw-inert beside it if there is one.
    FinalStageSource source;
    int wait_devices = 0;
};

ArmOptions ArmOptionsOf(const VerbArgs& args) {
    ArmOptions o;
    const char* env = std::getenv("HALTFW_FINAL");
    FinalStageSource& s = o.source;
    s.final_path = args.final_stage ? *args.final_stage : env && *env ? env : HALTFW_FINAL_PATH;
    s.inert_required = s.final_path == HALTFW_FINAL_PATH;
    s.inert_path = s.inert_required ? HALTFW_INERT_PATH : InertBeside(s.final_path);
    o.wait_devices = args.wait_devices;
    return o;
}

// Whether haltfw may talk to systemd, and if not why not. With a sysroot
// (tests) it never does, even where systemd runs: the drop-ins it wrote are
// not systemd's.
struct SystemdState {
    std::string sysroot = SysRoot();
    bool running = false;
    std::string why_not;
};

SystemdState Systemd() {
    SystemdState s;
    if (!s.sysroot.empty()) s.why_not = "systemd is not contacted (HALTFW_SYSROOT is set)";
    else if (!SystemdRunning()) s.why_not = "systemd is not running (no /run/systemd/system)";
    else s.running = true;
    return s;
}

bool ReloadSystemd(std::string* err) {
    std::unique_ptr<SystemdManager> m = SystemdManager::Connect(err);
    return m && m->Reload(err);
}

// The guards arm writes, or none with the reason why.
std::vector<DropIn> PlanGuards(const SystemdState& sd, std::string* why_none, std::string* err, bool* ok) {
    *ok = true;
    std::string dir = RuntimeUnitDir(sd.sysroot);
    if (access(dir.c_str(), F_OK) != 0) {
        *why_none = dir + " does not exist (systemd is not running)";
        return {};
    }
    GuardFacts facts;
    if (!ReadGuardFacts(sd.sysroot, &facts, err)) {
        *ok = false;
        return {};
    }
    *why_none = "none of the units that tear the firewall down at stop is installed";
    return GuardDropIns(facts, dir);
}

// Reads the final stage's files; `unchanged` ends a failure's message: what
// the arm left as it was.
int ReadFinalStage(const ArmOptions& o, ArmPlan* ap, const std::string& unchanged) {
    std::string err;
    FinalStageMissing missing = FinalStageMissing::kNothing;
    if (ReadFinalStageFiles(o.source, ap, &err, &missing)) return kOk;
    bool hint = missing == FinalStageMissing::kFinalStage;
    Fail("cannot arm: " + err + (hint ? " (give it with --final or HALTFW_FINAL)" : "") + "; " + unchanged);
    return missing == FinalStageMissing::kNothing ? kBadInput : kSystem;
}

// The halt preparation itself (ArmHalt), inside the change window; says
// how it ended.
int Prepare(const ArmPlan& ap, ChangeWindow* window) {
    std::string err;
    if (!window->Open(&err)) {
        Fail("cannot record the arm: " + err + "; not armed (apply's changes stay)");
        return kSystem;
    }
    std::unique_ptr<ArmEffects> fx = LinuxArmEffects(ReloadSystemd);
    ArmResult res = ArmHalt(ap, fx.get(), [&](const std::string& line) {
        window->Step(line, &err);
        Progress(line);
    });
    if (res.ok) {
        window->Reached("the arm was finished first: armed", ChangeWindow::Ending::kDone);
        return kOk;
    }
    bool undone = res.undo_failures.empty();
    window->Reached(undone ? "arm failed and was undone: not armed (apply's changes stay)"
                           : "arm failed and its undo is incomplete: run 'haltfw disarm'",
                    undone ? ChangeWindow::Ending::kUndone : ChangeWindow::Ending::kHalf);
    Fail("arm: " + res.error);
    for (const std::string& f : res.undo_failures) Fail("undo failed: " + f);
    Fail(undone ? "arm failed; everything it had prepared was undone (apply's changes stay)"
                : "arm failed and the undo is incomplete: run 'haltfw disarm'");
    return undone ? kNotReady : kSystem;
}

// arm: apply, readiness, then the halt preparation, all or nothing.
int Arm(const Globals& g, const ArmOptions& o, ChangeWindow* window) {
    // 1. The final stage first: a bad one should change nothing at all.
    // Nothing is read if the exitrd holds its files as the last arm
    // recorded them.
    ArmPlan ap;
    ExitrdRecord record;
    if (!FilesByRecord(o.source, &ap, &record, SayLine))
        if (int rc = ReadFinalStage(o, &ap, "nothing changed"); rc != kOk) return rc;

    // 2. apply: the live state the manifest records is the config's.
    Config cfg;
    std::string program;
    Live live;
    bool unchanged = false;
    if (int rc = ApplyConfig(g, false, o.wait_devices, &cfg, &program, window, &live, &unchanged); rc != kOk) {
        Fail("not armed: apply did not succeed");
        return rc;
    }
    // A signal held during apply's changes: apply is whole, and nothing of
    // the halt preparation is done, so stopping here is the shorter way.
    auto stopped = [&] {
        if (!window->Signal()) return false;
        window->Reached(window->state() + "; not armed", ChangeWindow::Ending::kUndone);
        return true;
    };
    if (stopped()) return kNotReady;

    // 3. Readiness, judged on the state just applied, as check judges it:
    // what apply read, if it changed nothing, else read again (the ruleset
    // apply dumped after its load is kept if no commit came since).
    if (!(unchanged ? AddRuleset(&live) : ReadLive(cfg, true, &live))) return kSystem;
    Plan plan = ComputePlan(cfg, live.net, LiveInputs(live.ruleset_current));
    Readiness r = AssessLive(cfg, program, live, plan);
    PrintReadiness(r);
    if (!r.ready()) {
        Fail("cannot arm: " + Count(r.blockers.size(), "blocker") + "; nothing armed (apply's changes stay)");
        return kNotReady;
    }

    // 4. The halt preparation.
    SystemdState sd = Systemd();
    std::string err;
    bool ok = true;
    ap.guards = PlanGuards(sd, &ap.no_guards_why, &err, &ok);
    if (!ok) {
        Fail("cannot arm: " + err + "; nothing armed (apply's changes stay)");
        return kSystem;
    }
    ap.exitrd = ExitrdRoot();
    ap.manifest = BuildManifest(cfg, plan.interfaces, live.ruleset, [](const std::string& k, std::string* v) {
        std::string e;
        return ReadSysctl(k, v, &e);
    });
    // A listen port left to the kernel is the one it chose: a device the
    // final stage must make again gets that one, where the peers expect it.
    std::unique_ptr<WgSocket> wg;
    for (WgDevice& d : ap.manifest.wireguard) {
        if (d.listen_port) continue;
        WgDevice now;
        if ((!wg && !(wg = WgSocket::Open(&err))) || !wg->GetDevice(d.name, &now, &err)) {
            Fail("cannot arm: WireGuard device " + d.name + ": " + err + "; nothing armed (apply's changes stay)");
            return kSystem;
        }
        if (now.listen_port == 0) {
            Fail("cannot arm: WireGuard device " + d.name +
                 " has no listen port yet (is it up?); nothing armed (apply's changes stay)");
            return kSystem;
        }
        d.listen_port = now.listen_port;
    }
    ap.manifest.netconsole = NetconsoleFor(cfg, plan.interfaces, NeighbourMac, &ap.netconsole_mac_from);
    // For the report: the halted box mounts nothing, and nobody can look.
    ap.manifest.pstore = PstoreStatus();
    Progress("pstore: " + ap.manifest.pstore);
    // Where and at which generation the ruleset it records was read: while
    // the kernel's stamp stays that one, the watcher and the final stage
    // know the ruleset is the armed one without reading it again. Without
    // a stamp they read it.
    RulesetStamp here;
    if (ReadRulesetStamp(&here, &err)) {
        here.generation = live.ruleset_generation;
        ap.manifest.armed_at = here;
    } else {
        Warn(err + ": the manifest records no ruleset generation, so the final stage reads the whole ruleset");
    }
    ap.reload = sd.running;
    ap.no_reload_why = sd.why_not;
    // Apply and readiness can take seconds: the record is judged again.
    if (!RecordStillHolds(o.source, ap, record)) {
        Progress("exitrd: its files changed while arming; reading them");
        std::string unchanged_files =
            "not armed again: the exitrd stays as the last arm left it (apply's changes stay)";
        if (int rc = ReadFinalStage(o, &ap, unchanged_files); rc != kOk) return rc;
    }
    if (stopped()) return kNotReady;
    if (int rc = Prepare(ap, window); rc != kOk) return rc;

    // 5. After the preparation: the record of the files it read, and the
    // ruleset watcher on standby.
    if (!ap.files_current) RecordFinalStageFiles(ap, SayLine);
    StartWatcherOnStandby(LinuxWatcherEffects(ap.exitrd).get(), sd.running ? "" : sd.why_not, SayLine);
    std::string wg_digest = WireguardDigest(ap.manifest.wireguard);
    out.Result("armed: digest " + ap.manifest.digest + (wg_digest.empty() ? "" : ", WireGuard digest " + wg_digest) +
                   " (manifest " + ExitrdManifestPath(ap.exitrd) + ")",
               Priority::kNotice);
    return kOk;
}

}  // namespace

int ArmVerb(const Globals& g, const VerbArgs& args, ChangeWindow* window) {
    return Arm(g, ArmOptionsOf(args), window);
}

int DisarmVerb(const Globals&, const VerbArgs&, ChangeWindow* window) {
    SystemdState sd = Systemd();
    std::string err;
    if (!window->Open(&err)) {
        Fail("cannot record the disarm: " + err + "; nothing changed");
        return kSystem;
    }
    // Disarm has no undo: a signal held in it waits for its end.
    window->Reached("nothing disarmed", ChangeWindow::Ending::kUndone);
    if (!StopWatcher(LinuxWatcherEffects(ExitrdRoot()).get(), sd.running, SayLine)) return kSystem;
    DisarmPlan dp;
    dp.exitrd = ExitrdRoot();
    ExitrdState st;
    if (!ReadExitrdState(dp.exitrd, &st, &err)) {
        Fail("disarm: " + err);
        return kSystem;
    }
    dp.exitrd_mounted = st.Usable();
    dp.unit_dir = RuntimeUnitDir(sd.sysroot);
    dp.reload = sd.running;
    dp.no_reload_why = sd.why_not;
    std::unique_ptr<ArmEffects> fx = LinuxArmEffects(ReloadSystemd);
    DisarmResult res = DisarmHalt(dp, fx.get(), [&](const std::string& line) {
        window->Step(line, &err);
        Progress(line);
    });
    window->Reached(res.ok ? "the disarm was finished first: not armed" : "the disarm is incomplete (see above)",
                    res.ok ? ChangeWindow::Ending::kDone : ChangeWindow::Ending::kHalf);
    for (const std::string& e : res.errors) Fail("disarm: " + e);
    if (!res.ok) {
        Fail("disarm is incomplete: see above");
        return kSystem;
    }
    out.Result(res.removed ? "disarmed: a halt is an ordinary halt again; the network state is left as it is"
                           : "nothing to disarm: not armed",
               Priority::kNotice);
    return kOk;
}

// halt: arm (again: arming is idempotent, and so readiness is judged right
// before the halt), set the ruleset watcher watching, then start
// haltfw.target as `systemctl start haltfw.target
// --job-mode=replace-irreversibly` would.
int HaltVerb(const Globals& g, const VerbArgs& args, ChangeWindow* window) {
    SystemdState sd = Systemd();
    if (!sd.running) {
        Fail("cannot halt: " + sd.why_not + "; nothing changed");
        return kSystem;
    }
    if (int rc = Arm(g, ArmOptionsOf(args), window); rc != kOk) {
        Fail("not halting: the box is not armed");
        return rc;
    }
    // A signal held while arming: the box is armed, and not halting is
    // the shorter way to a whole state.
    if (window->Signal()) {
        window->Reached(window->state() + "; not halting", ChangeWindow::Ending::kDone);
        return kNotReady;
    }
    std::string err, job;
    std::unique_ptr<SystemdManager> m = SystemdManager::Connect(&err);
    if (!m) {
        Fail("cannot halt: " + err + " (the box stays armed)");
        return kSystem;
    }
    // The guard holds before the first stop job can run.
    std::unique_ptr<WatcherEffects> watcher = LinuxWatcherEffects(ExitrdRoot(), m.get());
    SetWatcherWatching(watcher.get(), SayLine);
    if (!m->StartUnit("haltfw.target", "replace-irreversibly", &job, &err)) {
        Fail("cannot halt: " + err + " (the box stays armed)");
        window->Reached(window->state() + "; not halting", ChangeWindow::Ending::kDone);
        StandDownWatcher(watcher.get(), SayLine);
        return kSystem;
    }
    out.Result("halting: started haltfw.target (job " + job + ", via the " + m->via() +
                   "); the box becomes the halted firewall",
               Priority::kNotice);
    window->Reached("the halt was started first: the box becomes the halted firewall", ChangeWindow::Ending::kDone);
    return kOk;
}

// watch: what haltfw-watch.service runs. Becomes the ruleset watcher: the
// final stage run from the exitrd, chrooted into it (so that nothing of the
// root file system stays in use when systemd-shutdown takes it off), with
// argv[0] "@haltfw-watch" (so that systemd-shutdown's killing spree spares
// it, as it spares root storage daemons). Returns only on failure.
int WatchVerb(const Globals&, const VerbArgs&, ChangeWindow*) {
    std::string root = ExitrdRoot();
    for (const std::string& f : {ExitrdManifestPath(root), ExitrdShutdownPath(root)})
        if (access(f.c_str(), F_OK) != 0) {
            Fail("watch: not armed (no '" + f + "'); nothing to watch");
            return kNotReady;
        }
    // The exitrd has no /proc: the forwarding switches the watcher turns off
    // if it cannot restore the ruleset are opened here and inherited (-1:
    // absent, e.g. IPv6 disabled).
    std::string fwd[2];
    for (int i = 0; i < 2; ++i) fwd[i] = std::to_string(open(SysctlPath(kForwardingSysctls[i]).c_str(), O_RDWR));
    if (chroot(root.c_str()) != 0 || chdir("/") != 0) {
        Fail("watch: chroot '" + root + "': " + std::strerror(errno));
        return kSystem;
    }
    const char* argv[] = {kWatcherArgv0,  "--watch",      kExitrdManifest, kExitrdWatchState,
                          fwd[0].c_str(), fwd[1].c_str(), nullptr};
    execv(kExitrdShutdown, const_cast<char* const*>(argv));
    Fail("watch: exec '" + root + kExitrdShutdown + "': " + std::strerror(errno));
    return kSystem;
}

std::string WatcherStatus() { return WatcherStatusLine(LinuxWatcherEffects(ExitrdRoot()).get()); }

std::string PstoreStatus() {
    std::string root = SysRoot();
    PstorePaths p;
    p = {root + p.backend, root + p.fs, root + p.archive};
    PstoreScan s = ScanPstore(p, BootTimeNs());
    for (const std::string& i : s.ignored) out.Say(Priority::kDebug, "pstore: left out " + i);
    return PstoreLine(s);
}

std::string ArmedStatus(const std::string& live_digest) {
    ArmFacts f;
    f.exitrd = ExitrdRoot();
    f.live_digest = live_digest;
    ExitrdState st;
    std::string err;
    if (!ReadExitrdState(f.exitrd, &st, &err)) return "armed: unknown (" + err + ")";
    f.mounted = st.mount.has_value();
    f.usable = st.Usable();
    if (st.mount) f.mount_desc = "type '" + st.mount->fstype + "' (" + st.mount->options + ")";
    f.final_ok = access(ExitrdShutdownPath(f.exitrd).c_str(), X_OK) == 0;
    std::string manifest = ExitrdManifestPath(f.exitrd);
    f.manifest_present = access(manifest.c_str(), F_OK) == 0;
    Manifest m;
    if (f.manifest_present && ReadManifestFile(manifest, &m, &err)) f.armed_digest = m.digest;
    else if (f.manifest_present) f.manifest_error = err;

    std::string why_none;
    bool ok = true;
    for (const DropIn& d : PlanGuards(Systemd(), &why_none, &err, &ok)) {
        std::string now, e;
        if (!ReadWholeFile(d.path, &now, &e)) f.guards_missing.push_back(d.path);
        else if (now != d.content) f.guards_changed.push_back(d.path);
    }
    bool armed = false;
    return ArmedVerdict(f, &armed);
}

}  // namespace haltfw::cli
