// haltfw: the command-line tool. A thin layer over the library: parse the
// command line, run one verb, map the outcome to an exit code. Each verb is
// a short sequence of library calls; the decisions live in the library.
//
// Exit codes (haltfw(8)):
//   0  success; for check: ready to halt
//   1  check, arm, halt: not ready (blockers); apply, arm: failed and rolled back;
//      status: live state differs; verify-console: HALTED-FAIL, a truncated report, or a
//      HALTED-OK one that proves nothing (report.h: WhyNotProven)
//   2  bad configuration, bad ruleset or bad command line: nothing changed;
//      verify-console: no report in the log
//   3  system error: the system could not be read or changed, or a rollback or undo was
//      incomplete; halt: systemd is not running
//   128+N  apply, arm, disarm, halt: signal N arrived while they changed the state; they
//      finished the shorter way to a whole state first, and said which
#include <boost/program_options.hpp>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <fstream>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "core/apply.h"
#include "arm/arm.h"
#include "arm/change_window.h"
#include "core/config.h"
#include "arm/exitrd.h"
#include "arm/files.h"
#include "halt/final_stage.h"
#include "core/gateway.h"
#include "arm/guards.h"
#include "cli/log.h"
#include "halt/manifest.h"
#include "nft/nft_digest.h"
#include "nft/nft_dump.h"
#include "nft/nft_hooks.h"
#include "core/nft_load.h"
#include "core/nft_trial.h"
#include "core/plan.h"
#include "core/readiness.h"
#include "halt/report.h"
#include "net/rtnl.h"
#include "arm/run_lock.h"
#include "core/state_file.h"
#include "net/sysctl.h"
#include "arm/systemd_bus.h"

namespace po = boost::program_options;
using namespace haltfw;

namespace {

enum Exit { kOk = 0, kNotReady = 1, kBadInput = 2, kSystem = 3 };

struct Globals {
    std::string config = kDefaultConfigPath;
    bool config_given = false;  ///< --config on the command line: verify-console judges against it only then.
    bool quiet = false;
    bool verbose = false;
};

// Where everything haltfw says goes (log.h): set from --quiet/--verbose
// and $JOURNAL_STREAM once the command line is read.
Log out;

void Progress(const std::string& s) { out.Say(Priority::kInfo, s); }
void Warn(const std::string& s) { out.Say(Priority::kWarning, s); }
void Fail(const std::string& s) { out.Say(Priority::kErr, s); }

// nft's own messages name the rules file, line and column.
void RulesetFailed(const std::string& nft_messages) {
    out.Detail(Priority::kErr, nft_messages);
    Fail("the ruleset does not load; nothing changed");
}

// Config plus (with `check_ruleset`) a check-mode pass of the ruleset through
// the kernel: the common first step of every verb that reads the config.
// apply skips the ruleset pass: its commit comes first and fails whole.
// Prints every problem; returns false if there was one.
// The config alone; prints every error and returns false if there was one.
bool LoadConfigOrSay(const Globals& g, Config* cfg) {
    Diagnostics diags;
    *cfg = LoadConfig(g.config, &diags);
    if (!diags.ok()) {
        out.Detail(Priority::kErr, diags.FormatErrors());
        Fail(std::to_string(diags.errors().size()) + " error" + (diags.errors().size() == 1 ? "" : "s") + " in " + g.config +
             "; nothing changed");
        return false;
    }
    // Warnings (which of two default routes wins, say): said, not fatal.
    if (std::string w = diags.FormatWarnings(); !w.empty()) out.Detail(Priority::kWarning, w);
    return true;
}

bool LoadChecked(const Globals& g, Config* cfg, std::string* program, bool check_ruleset = true) {
    if (!LoadConfigOrSay(g, cfg)) return false;
    *program = RulesetProgram(*cfg);
    std::string err;
    if (check_ruleset && !NftCheck(*program, &err)) {
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
    in.ruleset_current = ruleset_current;
    return in;
}

// What the kernel holds now, and whether its ruleset is what this config
// loaded (same rules files and the files they include, no commit since:
// same generation id, and the same digest as apply left: state_file.h).
struct Live {
    NetState net;
    NftRuleset ruleset;     ///< With `with_ruleset`, or when the state file matched.
    std::string digest;     ///< Likewise; empty when the ruleset was not read.
    uint32_t ruleset_generation = 0;  ///< The generation `ruleset` was read at.
    std::string input_hash;
    uint32_t generation = 0;
    AppliedState applied;
    bool has_applied = false;
    bool ruleset_current = false;
};

// Adds the ruleset and its digest to a Live read without them (or read at
// another generation than the one it now has).
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

// check and status dump the ruleset to judge and show it; apply only when
// the state file says the ruleset is the one it loaded (it may hold a
// million elements), to compare the digests.
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
    bool same = live->has_applied && live->applied.input_hash == live->input_hash && live->applied.generation == live->generation;
    if ((with_ruleset || same) && !AddRuleset(live)) return false;
    live->ruleset_current = same && live->applied.digest == live->digest;
    return true;
}

// The live ruleset against the last apply's record, as status's "ruleset:"
// line says it.
std::string AppliedVerdict(const Live& live) {
    const AppliedState& a = live.applied;
    if (!live.has_applied) return "never applied by haltfw in this network namespace";
    if (live.ruleset_current) return "as applied from this config (generation " + std::to_string(live.generation) + ")";
    if (a.input_hash != live.input_hash) return "the rules files or the files they include changed since the last apply";
    if (a.generation != live.generation)
        return "changed since the last apply (generation " + std::to_string(a.generation) + ", now " + std::to_string(live.generation) + ")";
    return "changed since the last apply (generation " + std::to_string(a.generation) + " as then, but digest " +
           live.digest.substr(0, 12) + " where apply left " + a.digest.substr(0, 12) + ")";
}

// ---- verbs ----

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

// The halt readiness of the live state, as check and arm judge it: the
// readiness rules, the plan's problems, and the managers no guard can stop.
Readiness AssessLive(const Config& cfg, const std::string& program, const Live& live, const Plan& plan) {
    ReadinessInputs in;
    in.config = &cfg;
    in.state = &live.net;
    in.interfaces = &plan.interfaces;
    in.live = &live.ruleset;
    // The config's ruleset: the live one if apply loaded it and nothing
    // changed it since, else a trial load in a scratch namespace.
    // Stand-ins for the live links in the scratch namespaces below.
    std::vector<std::string> names;
    for (const Link& l : live.net.links) names.push_back(l.name);
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
    in.read_sysctl = LiveInputs(live.ruleset_current).read_sysctl;  // whether a family forwards, where [sysctl] does not say
    in.firewalld_installed = access("/usr/sbin/firewalld", F_OK) == 0;
    in.mem_available_kib = MemAvailableKib();
    in.networkmanager_installed = access("/usr/sbin/NetworkManager", F_OK) == 0;
    Readiness r = AssessReadiness(in);
    for (const Diagnostic& d : plan.problems.errors()) r.blockers.push_back(d.message);
    GuardFacts facts;
    std::string err;
    if (!ReadGuardFacts(SysRoot(), &facts, &err)) r.blockers.push_back("cannot read the shutdown units' settings: " + err);
    for (const std::string& b : GuardBlockers(facts)) r.blockers.push_back(b);
    return r;
}

void PrintReadiness(const Readiness& r) {
    for (const std::string& b : r.blockers) out.Result("BLOCKER: " + b, Priority::kErr);
    for (const std::string& w : r.warnings) out.Result("WARNING: " + w, Priority::kWarning);
}

std::string Count(size_t n, const std::string& what) { return std::to_string(n) + " " + what + (n == 1 ? "" : "s"); }

// What check and status start from: the config (with the ruleset sent
// through the kernel in check mode), the live state with its ruleset, and
// the plan between them. Filled in place: the plan points into the rest.
struct Snapshot {
    Config cfg;
    std::string program;
    Live live;
    Plan plan;
};

int TakeSnapshot(const Globals& g, Snapshot* s) {
    if (!LoadChecked(g, &s->cfg, &s->program)) return kBadInput;
    if (!ReadLive(s->cfg, true, &s->live)) return kSystem;
    s->plan = ComputePlan(s->cfg, s->live.net, LiveInputs(s->live.ruleset_current));
    return kOk;
}

int Check(const Globals& g, const std::vector<std::string>&) {
    Snapshot snap;
    if (int rc = TakeSnapshot(g, &snap); rc != kOk) return rc;
    const Config& cfg = snap.cfg;
    const Live& live = snap.live;
    const Plan& plan = snap.plan;
    Readiness r = AssessLive(cfg, snap.program, live, plan);

    out.Result("config: " + g.config + ": ok (" + Count(cfg.interfaces.size(), "interface") + ", " +
               DescribeRulesetSources(cfg) + ")");
    out.Result("ruleset: accepted by the kernel in check mode");
    if (plan.problems.ok()) {
        out.Result("pending: " + (plan.Empty() ? std::string("none, the live state matches the config")
                                               : std::to_string(plan.actions.size()) + " changes for 'haltfw apply'"));
        for (const Action& a : plan.actions) out.Say(Priority::kDebug, "  " + a.what);
    }
    PrintReadiness(r);
    out.Result(std::string(r.ready() ? "ready to halt" : "NOT ready to halt") + " (" + Count(r.blockers.size(), "blocker") +
                   ", " + Count(r.warnings.size(), "warning") + ")",
               r.ready() ? Priority::kNotice : Priority::kErr);
    return r.ready() ? kOk : kNotReady;
}

// Where udev runs, it has finished with the link: renamed it and written
// its database (what systemd calls "initialized"). Without udev (a build
// container, the namespace tests: no SYSROOT/run/udev/control) any link is.
bool UdevDone(const Link& l) {
    if (l.name == "lo" || access((SysRoot() + "/run/udev/control").c_str(), F_OK) != 0) return true;
    return access((SysRoot() + "/run/udev/data/n" + std::to_string(l.index)).c_str(), F_OK) == 0;
}

// At boot haltfw-arm.service may start while NIC drivers still probe and
// udev still renames: waits up to `seconds` for every configured device to
// exist and be done with by udev, so that the names armed are the final
// ones. What is still missing then, apply reports.
void WaitForDevices(const Config& cfg, int seconds) {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(seconds);
    for (;;) {
        std::string err;
        NetState st;
        std::unique_ptr<RtnlSocket> rtnl = RtnlSocket::Open(&err);
        if (!rtnl || !rtnl->Dump(&st, &err)) return;  // apply will say why
        bool all = true;
        for (const ResolvedInterface& r : ResolveInterfaces(cfg, st)) all &= r.link && UdevDone(*r.link);
        if (all) return;
        if (std::chrono::steady_clock::now() >= deadline) {
            Warn("devices: not all configured devices are ready after " + std::to_string(seconds) + " s; going on");
            return;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(200));
    }
}

// A rollback that reloaded the previous ruleset left the same rules under a
// new generation id: if the last apply's record held when this apply read
// the state (same id), it holds again, at the new one, so that status (and
// the next apply) see the ruleset as that apply loaded it.
void KeepAppliedRecord(const Live& before) {
    if (!before.has_applied || before.applied.generation != before.generation) return;
    AppliedState st = before.applied;
    std::string err;
    if (!RulesetGeneration(&st.generation, &err) || !WriteAppliedState(st, &err)) Warn(err + ", ignoring");
}

// After a successful apply: the state file's record of what it left, from
// one dump after the load (with `loaded`; else the ruleset ReadLive found
// current), and a word if that ruleset filters nothing. The load is one
// commit, which moves the generation id by one (or none: libnftables sends
// nothing when there is nothing to do, e.g. an empty ruleset loaded over an
// empty one); if it moved further, a commit of someone else's came between
// apply's look and the dump, so what is there may not be the config's, and
// nothing is recorded (the old record, at an older generation, matches
// nothing).
void RecordApplied(const std::string& config, bool loaded, Live* live) {
    std::string err;
    if (loaded) {
        uint32_t before = live->generation;
        uint32_t expected = before + 1 == 0 ? 1 : before + 1;  // the kernel skips 0
        live->digest.clear();
        if (!DumpRuleset(&live->ruleset, &err, &live->ruleset_generation)) {
            Warn(err + "; the ruleset is not recorded as applied, ignoring");
            return;
        }
        live->generation = live->ruleset_generation;
        live->digest = RulesetDigest(live->ruleset);
        if (BaseChains(live->ruleset).empty())
            Warn(std::string("the ruleset loaded ") + (live->ruleset.objects.empty() ? "is empty" : "has no base chain") +
                 ": nothing is filtered ('haltfw check' and 'haltfw arm' refuse it on a box that forwards)");
        if (live->generation != expected && live->generation != before) {
            Warn("ruleset: another commit came with apply's (generation " + std::to_string(live->generation) + " where " +
                 std::to_string(expected) + " was expected): not recorded as applied; the next apply loads it again");
            return;
        }
    }
    if (live->digest.empty()) return;
    AppliedState st{config, live->input_hash, live->generation, live->digest, 0};
    if (!WriteAppliedState(st, &err)) Warn(err + ", ignoring");
}

// apply, as the apply verb and as the first step of arm. *cfg and *program
// get the config it applied. Its changes happen inside `window` (held
// signals, the journal), which it opens and leaves open for the verb to
// close.
// With `unchanged_live`, a run that succeeds hands over the live state it
// read (with the ruleset, if it read one: a run that found nothing to
// change did, to compare digests; one that loaded it, to record it); one
// that found nothing to change sets `*unchanged` true.
int ApplyConfig(const Globals& g, bool dry_run, int wait_devices, Config* cfg, std::string* program, ChangeWindow* window,
                Live* unchanged_live = nullptr, bool* unchanged = nullptr) {
    if (unchanged) *unchanged = false;
    if (!LoadChecked(g, cfg, program, dry_run)) return kBadInput;
    if (wait_devices > 0) WaitForDevices(*cfg, wait_devices);
    Live live;
    if (!ReadLive(*cfg, false, &live)) return kSystem;
    // Someone else's commit, or an edit to a rules file, is worth a word:
    // the load below replaces the ruleset.
    if (live.has_applied && !live.ruleset_current) out.Say(Priority::kNotice, "ruleset: " + AppliedVerdict(live) + "; loading it again");
    Plan plan = ComputePlan(*cfg, live.net, LiveInputs(live.ruleset_current));
    if (!plan.problems.ok()) {
        out.Detail(Priority::kErr, plan.problems.FormatErrors());
        Fail("cannot apply; nothing changed");
        return kNotReady;
    }
    if (plan.Empty()) {
        out.Say(Priority::kNotice, "nothing to change: the live state matches " + g.config);
        if (unchanged) *unchanged_live = std::move(live), *unchanged = true;
        return kOk;
    }
    if (dry_run) {
        for (const Action& a : plan.actions) out.Result("would: " + a.what);
        return kOk;
    }

    std::string err;
    std::unique_ptr<System> sys = OpenLinuxSystem(&err);
    if (!sys) {
        Fail(err);
        return kSystem;
    }
    if (!window->Open(&err)) {
        Fail("cannot record the apply: " + err + "; nothing changed");
        return kSystem;
    }
    ApplyResult res = ApplyPlan(
        plan, *program, sys.get(),
        [&](const std::string& s) {
            window->Step(s, &err);
            Progress(s);
        },
        [&] { return window->Signal() != 0; });
    if (!err.empty()) Warn("journal: " + err + ", ignoring");
    // What a signal's exit line will say the state is.
    std::string why = res.stopped ? "apply " + res.error + ": " : "";
    window->Reached(res.ok ? "the apply was finished first; the live state is the config's"
                    : res.rollback_failures.empty() ? why + "every change was rolled back; the live state is as it was before the apply"
                                                    : why + "the rollback is incomplete: check the network state",
                    res.ok ? ChangeWindow::Ending::kDone : res.rollback_failures.empty() ? ChangeWindow::Ending::kUndone
                                                                                           : ChangeWindow::Ending::kHalf);
    if (!res.ok && res.rollback_failures.empty()) KeepAppliedRecord(live);
    if (res.stopped) {  // the verb's exit line says the rest
        for (const std::string& f : res.rollback_failures) Fail("rollback failed: " + f);
        return res.rollback_failures.empty() ? kNotReady : kSystem;
    }
    if (!res.ok && res.failed == ActionKind::kRuleset && res.rollback_failures.empty()) {
        RulesetFailed(res.cause);
        return kBadInput;
    }
    if (!res.ok) {
        Diagnostic d{g.config, res.error_line, res.error};
        out.Detail(Priority::kErr, d.Format());
        for (const std::string& f : res.rollback_failures) Fail("rollback failed: " + f);
        Fail(res.rollback_failures.empty() ? "apply failed; every change was rolled back"
                                           : "apply failed and the rollback is incomplete: check the network state");
        return res.rollback_failures.empty() ? kNotReady : kSystem;
    }

    bool loaded = std::any_of(plan.actions.begin(), plan.actions.end(), [](const Action& a) { return a.kind == ActionKind::kRuleset; });
    RecordApplied(g.config, loaded, &live);
    out.Say(Priority::kNotice, "applied " + std::to_string(plan.actions.size()) + " change" + (plan.actions.size() == 1 ? "" : "s") +
               " (ruleset generation " + std::to_string(live.generation) + ")");
    if (unchanged_live) *unchanged_live = std::move(live);  // with the ruleset just read, for arm
    return kOk;
}

int Apply(const Globals& g, bool dry_run, ChangeWindow* window) {
    Config cfg;
    std::string program;
    return ApplyConfig(g, dry_run, 0, &cfg, &program, window);
}

// ---- arming ----

#ifndef HALTFW_FINAL_PATH
#define HALTFW_FINAL_PATH "/usr/lib/haltfw/haltfw-final"
#endif
#ifndef HALTFW_INERT_PATH
#define HALTFW_INERT_PATH "/usr/lib/haltfw/haltfw-inert"
#endif

struct ArmOptions {
    std::string final_path;  ///< --final, else $HALTFW_FINAL, else HALTFW_FINAL_PATH.
    /// HALTFW_INERT_PATH with the installed final stage (required: the
    /// package ships both); with another final stage, haltfw-inert beside
    /// it if there is one.
    std::string inert_path;
    bool inert_required = true;
    int wait_devices = 0;
};

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

// The haltfw-inert arm installs: o.inert_path if it is there or required
// (a required one that is missing fails the load), else "" for none.
std::string InertToInstall(const ArmOptions& o) {
    return access(o.inert_path.c_str(), F_OK) == 0 || o.inert_required ? o.inert_path : "";
}

// Whether the exitrd holds the final stage, its libraries and haltfw-inert
// as the last arm recorded them (see ExitrdRecord): then nothing of them
// is read or compared, and *rec is that record.
bool ExitrdFilesCurrent(const ArmOptions& o, ArmPlan* ap, ExitrdRecord* rec) {
    ap->files_current = false;
    std::string root = ExitrdRoot(), text, err, why;
    ExitrdState st;
    if (!ReadExitrdState(root, &st, &err) || !st.Usable() || !ReadWholeFile(ExitrdRecordPath(root), &text, &err)) return false;
    if (!ParseExitrdRecord(text, rec, &err)) {
        out.Say(Priority::kDebug, "exitrd: " + ExitrdRecordPath(root) + ": " + err + "; comparing the files");
        return false;
    }
    std::string inert = InertToInstall(o);
    if (!ExitrdRecordCurrent(*rec, root, o.final_path, inert, StampFile, &why)) {
        out.Say(Priority::kDebug, "exitrd: not as recorded (" + why + "); comparing the files");
        return false;
    }
    ap->files_current = true;
    ap->recorded_inert = !inert.empty();
    ap->recorded_files = rec->entries.size() - (ap->recorded_inert ? 1 : 0);
    return true;
}

// After an arm that read the exitrd's files: the record that lets the next
// one skip that. Without it (a source changed just now, say) the next arm
// compares them again; an old record, which the exitrd no longer matches,
// goes.
void RecordExitrdFiles(const ArmPlan& ap) {
    std::string path = ExitrdRecordPath(ap.exitrd), err, why;
    ExitrdRecord rec;
    bool removed = false;
    bool built = BuildExitrdRecord(ap.exitrd, ap.files, ap.inert ? &*ap.inert : nullptr, ap.context, StampFile, &rec, &why);
    if (built && WriteFileAtomic(path, SerializeExitrdRecord(rec), 0600, &err)) return;
    out.Say(Priority::kDebug, "exitrd: no record of its files (" + (built ? err : why) + "): the next arm compares them");
    if (!RemoveFile(path, &removed, &err)) Warn(err + "; the next arm may take the exitrd's files by an old record");
}

// Reads the final stage and what it needs to run in the exitrd, and
// haltfw-inert. `unchanged` ends a failure's message: what the arm left as
// it was.
int ReadFinalStageFiles(const ArmOptions& o, ArmPlan* ap, const std::string& unchanged) {
    ap->files_current = false;
    ap->context = StampExitrdContext(StampFile);  // before the loader lists the libraries
    std::string err;
    if (!LoadExitrdFiles(o.final_path, &ap->files, &err)) {
        bool missing = access(o.final_path.c_str(), F_OK) != 0;
        Fail("cannot arm: " + err + (missing ? " (give it with --final or HALTFW_FINAL)" : "") + "; " + unchanged);
        return missing ? kSystem : kBadInput;
    }
    if (InertToInstall(o).empty()) return kOk;
    bool missing = access(o.inert_path.c_str(), F_OK) != 0;
    ExitrdFile inert;
    if (!LoadInertFile(o.inert_path, &inert, &err)) {
        Fail("cannot arm: " + err + "; " + unchanged);
        return missing ? kSystem : kBadInput;
    }
    ap->inert = std::move(inert);
    return kOk;
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

// ---- the ruleset watcher (haltfw-final --watch) ----

// Its state file in the exitrd.
std::string WatchStatePath() { return ExitrdRoot() + "/" + kWatchStateName; }

// The watcher's state, if a live watcher wrote it: the pid must still be a
// process whose argv[0] is "@haltfw-watch".
bool ReadWatcher(WatchState* ws, bool* alive) {
    std::string text, err, cmdline;
    *alive = false;
    if (!ReadWholeFile(WatchStatePath(), &text, &err) || !ParseWatchState(text, ws)) return false;
    *alive = ReadWholeFile("/proc/" + std::to_string(ws->pid) + "/cmdline", &cmdline, &err) && cmdline.starts_with("@haltfw-watch");
    return true;
}

// Whether the watcher's program is the exitrd's file no more (arm replaced
// the final stage under it): /proc/PID/exe of an unlinked file ends in
// " (deleted)". (A replaced library alone does not count: the old one
// stays mapped and matches the old program.)
bool WatcherProgramReplaced(long pid) {
    char target[4096];
    ssize_t n = readlink(("/proc/" + std::to_string(pid) + "/exe").c_str(), target, sizeof target - 1);
    return n > 0 && std::string_view(target, static_cast<size_t>(n)).ends_with(" (deleted)");
}

// Waits up to 10 s for a live watcher other than `old_pid` (0: any) to
// write its state; false if none did.
bool WaitForNewWatcher(long old_pid, WatchState* ws) {
    bool alive = false;
    for (int i = 0; i < 5000; ++i) {
        if (ReadWatcher(ws, &alive) && alive && ws->pid != old_pid) return true;
        std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
    return false;
}

// arm's last step: haltfw-watch.service, on standby until a halt. Started
// here so that the halt costs no process start for it. One that runs on
// standby is left alone (it reads the manifest only when the halt begins,
// so arming again needs nothing of it); it is restarted if arm has just
// replaced its program, or if it is watching (a halt that was started and
// then failed or was cancelled: on a live box it would undo every change
// to the ruleset), and then waited for.
void StartWatcherOnStandby(const SystemdState& sd) {
    if (!sd.running) {
        Progress("watch: not started (" + sd.why_not + ")");
        return;
    }
    WatchState ws;
    bool alive = false;
    bool running = ReadWatcher(&ws, &alive) && alive;
    std::string why_restart = !running ? "" : ws.watching ? "it was watching, from a halt that did not happen"
                                            : WatcherProgramReplaced(ws.pid) ? "its program was replaced" : "";
    if (running && why_restart.empty()) {
        Progress("watch: haltfw-watch.service runs (pid " + std::to_string(ws.pid) + ", on standby)");
        return;
    }
    std::string err, job;
    std::unique_ptr<SystemdManager> m = SystemdManager::Connect(&err);
    if (!m || !(running ? m->RestartUnit("haltfw-watch.service", "replace", &job, &err)
                        : m->StartUnit("haltfw-watch.service", "replace", &job, &err))) {
        Warn("the ruleset watcher did not " + std::string(running ? "restart" : "start") + " (" + err + "); 'haltfw halt' tries again");
        return;
    }
    if (!running) {
        Progress("watch: haltfw-watch.service started, on standby until the halt");
        return;
    }
    long old = ws.pid;
    if (WaitForNewWatcher(old, &ws))
        Progress("watch: haltfw-watch.service restarted (" + why_restart + "), on standby (pid " + std::to_string(ws.pid) + ")");
    else
        Warn("the ruleset watcher did not come back within 10 s of its restart (" + why_restart + "); 'haltfw halt' tries again");
}

// disarm's first step: the watcher runs chrooted into the exitrd, which
// cannot be unmounted under it (a lazy detach would leave it running on
// a copy no one sees). Stopped through systemd whether or not it has
// written its state yet (arm may have started it a moment ago), waiting
// up to 5 s; one still there after that (or without systemd) is killed.
// False if it lives on: disarm then changes nothing.
bool StopWatcher(const SystemdState& sd) {
    std::string err, job, state;
    if (sd.running) {
        std::unique_ptr<SystemdManager> m = SystemdManager::Connect(&err);
        if (!m || !m->ActiveState("haltfw-watch.service", &state, &err)) {
            Warn("could not ask systemd about the ruleset watcher (" + err + ")");
        } else if (state != "inactive" && state != "failed") {
            if (!m->StopUnit("haltfw-watch.service", "replace", &job, &err)) Warn("could not stop haltfw-watch.service (" + err + ")");
            for (int i = 0; i < 500 && m->ActiveState("haltfw-watch.service", &state, &err) && state != "inactive" && state != "failed"; ++i)
                std::this_thread::sleep_for(std::chrono::milliseconds(10));
            if (state == "inactive" || state == "failed") Progress("watch: stopped haltfw-watch.service");
        }
    }
    WatchState ws;
    bool alive = false;
    if (!ReadWatcher(&ws, &alive) || !alive) return true;
    kill(static_cast<pid_t>(ws.pid), SIGKILL);
    for (int i = 0; i < 200 && ReadWatcher(&ws, &alive) && alive; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(10));
    if (alive) {
        Fail("disarm: the ruleset watcher (pid " + std::to_string(ws.pid) + ") does not end; nothing disarmed");
        return false;
    }
    Progress("watch: killed the ruleset watcher (pid " + std::to_string(ws.pid) + ")");
    return true;
}

// arm: apply, readiness, then the halt preparation, all or nothing. With
// `generation`, the ruleset generation id at which the armed ruleset was
// read: while the kernel's stays the same, so does the ruleset.
int Arm(const Globals& g, const ArmOptions& o, ChangeWindow* window, uint32_t* generation = nullptr) {
    // 1. The final stage first: a bad one should change nothing at all.
    ArmPlan ap;
    // Nothing is read if the files are there as the last arm recorded them
    // (ap.files_current, with that record in `record`).
    ExitrdRecord record;
    if (!ExitrdFilesCurrent(o, &ap, &record))
        if (int rc = ReadFinalStageFiles(o, &ap, "nothing changed"); rc != kOk) return rc;

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
    ap.reload = sd.running;
    ap.no_reload_why = sd.why_not;
    // The record was judged before apply and readiness, which can take
    // seconds (--wait-devices, a large ruleset): its stamps are judged again
    // (stat calls only), and if they no longer hold, the files are read now.
    std::string why;
    if (ap.files_current && !ExitrdRecordCurrent(record, ap.exitrd, o.final_path, InertToInstall(o), StampFile, &why)) {
        Progress("exitrd: its files changed while arming; reading them");
        if (int rc = ReadFinalStageFiles(o, &ap, "not armed again: the exitrd stays as the last arm left it (apply's changes stay)"); rc != kOk)
            return rc;
    }
    if (stopped()) return kNotReady;
    if (!window->Open(&err)) {
        Fail("cannot record the arm: " + err + "; not armed (apply's changes stay)");
        return kSystem;
    }
    std::unique_ptr<ArmEffects> fx = LinuxArmEffects(ReloadSystemd);
    ArmResult res = ArmHalt(ap, fx.get(), [&](const std::string& line) {
        window->Step(line, &err);
        Progress(line);
    });
    window->Reached(res.ok ? "the arm was finished first: armed"
                    : res.undo_failures.empty() ? "arm failed and was undone: not armed (apply's changes stay)"
                                                : "arm failed and its undo is incomplete: run 'haltfw disarm'",
                    res.ok ? ChangeWindow::Ending::kDone : res.undo_failures.empty() ? ChangeWindow::Ending::kUndone
                                                                                      : ChangeWindow::Ending::kHalf);
    if (!res.ok) {
        Fail("arm: " + res.error);
        for (const std::string& f : res.undo_failures) Fail("undo failed: " + f);
        Fail(res.undo_failures.empty() ? "arm failed; everything it had prepared was undone (apply's changes stay)"
                                       : "arm failed and the undo is incomplete: run 'haltfw disarm'");
        return res.undo_failures.empty() ? kNotReady : kSystem;
    }
    if (!ap.files_current) RecordExitrdFiles(ap);
    if (generation) *generation = live.ruleset_generation;
    StartWatcherOnStandby(sd);
    out.Result("armed: digest " + ap.manifest.digest + " (manifest " + ExitrdManifestPath(ap.exitrd) + ")", Priority::kNotice);
    return kOk;
}

int Disarm(ChangeWindow* window) {
    SystemdState sd = Systemd();
    std::string err;
    if (!window->Open(&err)) {
        Fail("cannot record the disarm: " + err + "; nothing changed");
        return kSystem;
    }
    // Disarm has no undo: a signal held in it waits for its end.
    window->Reached("nothing disarmed", ChangeWindow::Ending::kUndone);
    if (!StopWatcher(sd)) return kSystem;
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

// Sets the watcher watching: SIGUSR1, once there is a live one. Arm
// started it on standby; if it is not there (it failed, or was stopped),
// it is started now and waited for (up to 10 s). Returns the pid
// signalled, 0 for none (a warning said why). Without it the halt still
// happens; the final stage then restores a changed ruleset on its own,
// later.
//
// The signal is pending when this returns; ConfirmWatcher then waits, before
// the CLI starts haltfw.target, until the watcher has loaded its guard (the
// owned copy of the armed ruleset) and says it watches: ordering
// dependencies could not give that, since systemd runs the stop jobs of a
// transaction before its start jobs. Once watching, it checks the whole
// ruleset first, so a change made before it got there is put back as well
// as one after. The signal carries (sigqueue) the generation id at which
// this halt's arm read the armed ruleset: if the kernel's is still that
// one, no transaction has changed it, and the watcher skips that first
// dump (tens of milliseconds of a CPU the shutdown needs).
long SignalWatcher(SystemdManager* m, uint32_t generation) {
    WatchState ws;
    bool alive = false;
    if (!ReadWatcher(&ws, &alive) || !alive) {
        // Not running yet (arm has only just started it), or gone: a no-op
        // for a unit already starting. A dead one's state is not removed,
        // which could race with the new one's first write; the loop below
        // waits for a state whose pid lives.
        std::string job, err;
        if (!m->StartUnit("haltfw-watch.service", "replace", &job, &err)) {
            Warn("the ruleset watcher did not start (" + err + "): only the final stage will restore a ruleset changed on the way down");
            return 0;
        }
        if (!WaitForNewWatcher(0, &ws)) {
            Warn("the ruleset watcher did not report within 10 s (see 'systemctl status haltfw-watch.service'): only the final "
                 "stage will restore a ruleset changed on the way down");
            return 0;
        }
    }
    sigval value{};
    value.sival_int = static_cast<int>(generation);
    if (sigqueue(static_cast<pid_t>(ws.pid), SIGUSR1, value) != 0) {
        Warn("could not signal the ruleset watcher (pid " + std::to_string(ws.pid) + "): " + std::strerror(errno) +
             "; only the final stage will restore a ruleset changed on the way down");
        return 0;
    }
    return ws.pid;
}

// Waits until the watcher signalled has taken up watching, and so holds its
// guard (the owned copy of the armed ruleset: nft_guard.h), up to 30 s: the
// halt starts no stop job before that. Says what it found.
void ConfirmWatcher(long pid) {
    WatchState ws;
    bool alive = false;
    for (int i = 0; i < 15000; ++i) {
        bool known = ReadWatcher(&ws, &alive);
        if (known && ws.pid == pid && alive && ws.watching && ws.guard > 0) {
            Progress("watch: the armed ruleset is guarded through the shutdown by an owned copy no unit can change, and by "
                     "haltfw-watch.service (pid " + std::to_string(pid) + ")");
            return;
        }
        if (known && ws.pid == pid && alive && ws.watching) {
            Warn("the ruleset watcher (pid " + std::to_string(pid) + ") could not load its owned copy of the armed ruleset (its "
                 "console line says why): it guards the shutdown by restoring the ruleset alone");
            return;
        }
        if (known && ws.pid == pid && !alive) {
            Warn("the ruleset watcher ended instead of watching (see 'systemctl status haltfw-watch.service'): only the final "
                 "stage will restore a ruleset changed on the way down");
            return;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
    Warn("the ruleset watcher did not say it watches within 30 s: only the final stage may restore a ruleset changed on the way "
         "down");
}

// halt: arm (again: arming is idempotent, and so readiness is judged right
// before the halt), set the ruleset watcher watching, then start
// haltfw.target as `systemctl start haltfw.target
// --job-mode=replace-irreversibly` would.
int Halt(const Globals& g, const ArmOptions& o, ChangeWindow* window) {
    SystemdState sd = Systemd();
    if (!sd.running) {
        Fail("cannot halt: " + sd.why_not + "; nothing changed");
        return kSystem;
    }
    uint32_t generation = 0;
    if (int rc = Arm(g, o, window, &generation); rc != kOk) {
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
    long watcher = SignalWatcher(m.get(), generation);
    // The guard holds before the first stop job can run.
    if (watcher > 0) ConfirmWatcher(watcher);
    if (!m->StartUnit("haltfw.target", "replace-irreversibly", &job, &err)) {
        Fail("cannot halt: " + err + " (the box stays armed)");
        window->Reached(window->state() + "; not halting", ChangeWindow::Ending::kDone);
        // A watching watcher would undo the admin's changes to the live box.
        std::string e2;
        if (!m->StopUnit("haltfw-watch.service", "replace", &job, &e2)) Warn(e2 + ", ignoring");
        else Warn("the ruleset watcher is stopped; 'haltfw arm' starts it again on standby");
        // Its state would read as if it had watched a later halt.
        unlink(WatchStatePath().c_str());
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
int WatchVerb() {
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
    int i = 0;
    for (const char* key : {"net.ipv4.ip_forward", "net.ipv6.conf.all.forwarding"})
        fwd[i++] = std::to_string(open(SysctlPath(key).c_str(), O_RDWR));
    if (chroot(root.c_str()) != 0 || chdir("/") != 0) {
        Fail("watch: chroot '" + root + "': " + std::strerror(errno));
        return kSystem;
    }
    std::string manifest = ExitrdManifestPath(""), shutdown = ExitrdShutdownPath(""), state = std::string("/") + kWatchStateName;
    const char* argv[] = {"@haltfw-watch", "--watch", manifest.c_str(), state.c_str(), fwd[0].c_str(), fwd[1].c_str(), nullptr};
    execv(shutdown.c_str(), const_cast<char* const*>(argv));
    Fail("watch: exec '" + root + shutdown + "': " + std::strerror(errno));
    return kSystem;
}

// The "watch:" line of status.
std::string WatcherStatus() {
    WatchState ws;
    bool alive = false;
    if (!ReadWatcher(&ws, &alive) || !alive) return "watch: not running (arm starts it, and a halt if arm could not)";
    return "watch: haltfw-watch.service " + std::string(ws.watching ? "watching, a halt under way" : "on standby") + " (pid " +
           std::to_string(ws.pid) + ")";
}

// The "armed:" line of status.
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

// The digest a config would arm: its ruleset committed, dumped and
// digested as arm does, in a scratch network namespace of a thread's own,
// so that the caller's namespace (every other thread's) never changes and
// the scratch one goes with the thread. Creating it needs CAP_SYS_ADMIN.
// Returns kOk, kBadInput (the ruleset does not load: *err holds nft's
// messages) or kSystem.
int ScratchDigest(const Config& cfg, std::string* digest, std::string* err) {
    int rc = kSystem;
    std::thread([&] {
        if (unshare(CLONE_NEWNET) != 0) {
            *err = std::string("unshare(CLONE_NEWNET): ") + std::strerror(errno);
            return;
        }
        std::unique_ptr<RtnlSocket> rtnl = RtnlSocket::Open(err);
        if (!rtnl) return;
        // Rules may name the config's devices (`iif "wan0"` is resolved
        // when loaded): down veth links stand in for them.
        int n = 0;
        for (const InterfaceConfig& i : cfg.interfaces)
            if (!i.device.empty() && !rtnl->CreateVeth(i.device, "hfwvc" + std::to_string(n++), err)) return;
        if (!NftCommit(RulesetProgram(cfg), err)) {
            rc = kBadInput;
            return;
        }
        NftRuleset rs;
        if (!DumpRuleset(&rs, err)) return;
        *digest = RulesetDigest(rs);
        rc = kOk;
    }).join();
    return rc;
}

// verify-console --config: the digest g.config would arm.
int ConfigDigest(const Globals& g, std::string* digest) {
    Config cfg;
    if (!LoadConfigOrSay(g, &cfg)) return kBadInput;
    std::string err;
    int rc = ScratchDigest(cfg, digest, &err);
    if (rc == kBadInput) {
        out.Detail(Priority::kErr, err);
        Fail("verify-console: the ruleset of '" + g.config + "' does not load");
    } else if (rc != kOk) {
        Fail("verify-console: cannot compute the digest '" + g.config + "' would arm: " + err);
    } else {
        Progress("verify-console: '" + g.config + "' arms the ruleset digest " + *digest + " (loaded in a scratch network namespace)");
    }
    return rc;
}

// The last report in a serial log, judged (report.h: WhyNotProven) against
// the armed digest when one is known: --digest, or the one --config arms.
int VerifyConsole(const Globals& g, const std::string& file, const std::optional<std::string>& digest) {
    if (digest && !IsDigestHex(*digest)) {
        Fail("verify-console: --digest '" + *digest + "' is not a ruleset digest (64 lowercase hex digits)");
        return kBadInput;
    }
    if (digest && g.config_given) {
        Fail("verify-console: give --digest or --config, not both (try 'haltfw verify-console --help')");
        return kBadInput;
    }
    std::string log, err;
    if (!ReadWholeFile(file, &log, &err, size_t{1} << 30)) {
        Fail("verify-console: " + (err.empty() ? "read " + file + ": No such file or directory" : err));
        return kSystem;
    }
    std::string armed = digest.value_or("");
    if (g.config_given)
        if (int rc = ConfigDigest(g, &armed); rc != kOk) return rc;
    ConsoleReport r = ParseConsole(log);
    for (const std::string& l : r.lines) out.Result(l);
    if (!r.inert_line.empty()) out.Result(kReportPrefix + r.inert_line);  // PID 1's footprint, after the report
    switch (r.verdict) {
    case ConsoleVerdict::kOk:
        if (std::string why = WhyNotProven(r, armed); !why.empty()) {
            out.Result("verify-console: HALTED-OK not accepted: " + why, Priority::kErr);
            return kNotReady;
        }
        if (armed.empty()) Progress("verify-console: no armed digest to hold the report's to (give --digest HEX or --config FILE)");
        out.Result("verify-console: a complete HALTED-OK report (digest " + r.Field("digest") + (armed.empty() ? ")" : ", the armed one)"),
                   Priority::kNotice);
        return kOk;
    case ConsoleVerdict::kFail:
        out.Result("verify-console: HALTED-FAIL (reason " + r.Field("reason") + ")", Priority::kErr);
        return kNotReady;
    case ConsoleVerdict::kTruncated:
        out.Result("verify-console: a truncated report: " +
                       (r.machine_line.empty() ? std::string("it has no HALTED-OK or HALTED-FAIL line")
                                               : "it counts lines=" + r.Field("lines") + " but " +
                                                     std::to_string(r.lines.size() - 1) + " lines arrived before its last"),
                   Priority::kErr);
        return kNotReady;
    case ConsoleVerdict::kAbsent:
        break;
    }
    out.Result("verify-console: no haltfw report in '" + file + "'", Priority::kErr);
    return kBadInput;
}

int Status(const Globals& g) {
    Snapshot snap;
    if (int rc = TakeSnapshot(g, &snap); rc != kOk) {
        // The config is broken now, but whether the box is armed (and with
        // what) still matters: a halt would use what was armed.
        NftRuleset rs;
        std::string err;
        if (rc == kBadInput && DumpRuleset(&rs, &err)) out.Result(ArmedStatus(RulesetDigest(rs)));
        return rc;
    }
    const Live& live = snap.live;
    const Plan& plan = snap.plan;

    for (const ResolvedInterface& r : plan.interfaces) {
        if (!r.link) {
            out.Result("interface " + r.config->role + ": missing", Priority::kWarning);
            continue;
        }
        out.Result("interface " + r.config->role + ": " + r.link->name + " " + (r.link->up() ? "up" : "DOWN") + " mtu " +
                   std::to_string(r.link->mtu));
        for (const AddressSpec& a : r.config->addresses) {
            bool have = false;
            for (const Address& x : live.net.addresses) have |= x.ifindex == r.link->index && x.prefix == a.prefix;
            out.Result("  address " + FormatPrefix(a.prefix) + (have ? "" : " MISSING"));
        }
    }
    for (const char* k : {"net.ipv4.ip_forward", "net.ipv6.conf.all.forwarding"}) {
        std::string v, err;
        out.Result(std::string("sysctl ") + k + " = " + (ReadSysctl(k, &v, &err) ? v : "?"));
    }
    out.Result("ruleset digest: " + live.digest);
    out.Result("ruleset: " + AppliedVerdict(live));
    out.Result(ArmedStatus(live.digest));
    out.Result(WatcherStatus());
    bool in_sync = plan.problems.ok() && plan.Empty();
    out.Result("state: " + (in_sync ? std::string("matches the config")
                                    : "differs from the config (" + std::to_string(plan.actions.size()) + " pending changes)"));
    return in_sync ? kOk : kNotReady;
}

// show-ruleset: the gateway profile's nft text, and the rules files that
// follow it in the same transaction. Everything else is an nft comment, so
// the output can go to `nft -c -f -`. Reads the config only: no root, no
// kernel.
int ShowRuleset(const Globals& g) {
    Config cfg;
    if (!LoadConfigOrSay(g, &cfg)) return kBadInput;
    out.Result("# What 'haltfw apply' loads for " + g.config + ", after 'flush ruleset', in one transaction.");
    out.Result(cfg.gateway ? GatewayRuleset(cfg) : "# No [gateway]: the ruleset is the [ruleset] files alone.");
    if (cfg.rule_files.empty()) {
        out.Result("# No [ruleset] files follow.");
        return kOk;
    }
    out.Result(std::string("# ") + (cfg.gateway ? "Then the" : "The") + " [ruleset] files, in this order:");
    for (const RuleFile& f : cfg.rule_files) out.Result("#   " + f.path + " (line " + std::to_string(f.line) + ")");
    return kOk;
}

int Digest(bool dump) {
    NftRuleset rs;
    std::string err;
    uint32_t generation = 0;
    if (!DumpRuleset(&rs, &err, &generation)) {
        Fail(err);
        return kSystem;
    }
    if (dump && !rs.objects.empty()) out.Result(DescribeRuleset(rs));
    out.Say(Priority::kDebug, "read at ruleset generation " + std::to_string(generation));
    out.Result(RulesetDigest(rs));
    return kOk;
}

// ---- one haltfw at a time ----

// How long a verb that changes state waits for another one to finish.
constexpr std::chrono::seconds kLockWait{30};

// What a run that never ended (SIGKILL, a crash) left: its journal, found
// with the lock free. Said by every verb but verify-console.
std::optional<ChangeJournal> NoticeInterrupted() {
    ChangeJournal j;
    std::string err;
    if (ReadJournal(&j, &err)) {
        Warn(InterruptedNotice(j));
        return j;
    }
    if (!err.empty()) Warn("journal: " + err + ", ignoring");
    return std::nullopt;
}

// The verbs that only read take no lock, but say when another haltfw is
// changing what they read.
void NoticeOthers() {
    LockOwner holder;
    if (LockHeld(&holder)) Warn(DescribeOwner(holder) + " is changing the state: what follows may show it halfway");
    else NoticeInterrupted();
}

// Takes the run lock for a verb that changes state, before it reads
// anything. Returns kOk, or the exit code.
int TakeRunLock(const std::string& verb, bool no_wait, RunLock* lock, std::optional<ChangeJournal>* interrupted) {
    LockOwner holder;
    std::string err;
    bool busy = !lock->Take(verb, std::chrono::seconds(0), &holder, &err) && err.empty();
    // haltfw-watch.service is started by arm and halt, which hold the lock
    // and wait for the watcher to come up: it goes on under theirs.
    if (busy && verb == "watch" && (holder.verb == "arm" || holder.verb == "halt")) {
        Progress("watch: started while " + DescribeOwner(holder) + " holds the lock; going on under it");
        return kOk;
    }
    if (busy && !no_wait) {
        out.Say(Priority::kNotice, "waiting up to " + std::to_string(kLockWait.count()) + " s for " + DescribeOwner(holder) + " to finish");
        busy = !lock->Take(verb, kLockWait, &holder, &err) && err.empty();
    }
    if (!err.empty()) {
        Fail("cannot take the lock: " + err + "; nothing changed");
        return kSystem;
    }
    if (busy) {
        Fail(DescribeOwner(holder) + (no_wait ? " is running" : " is still running after " + std::to_string(kLockWait.count()) + " s") +
             "; nothing changed");
        return kNotReady;
    }
    *interrupted = NoticeInterrupted();
    return kOk;
}

// The end of a verb's changes: the journal goes, the held signals are
// taken. If one arrived, the verb went the shorter way to a whole state
// first; this says what the state is and exits 128+N, as a shell reports a
// process a signal ended.
int EndChanges(ChangeWindow* window, int rc) {
    std::string err;
    int sig = window->Close(rc == kOk, &err);
    if (!err.empty()) Warn("journal: " + err + ", ignoring");
    if (sig == 0) return rc;
    Fail("interrupted by " + SignalName(sig) + ": " + window->state());
    return 128 + sig;
}

// ---- command line ----

const char* kUsage =
    "Usage: haltfw [--config FILE] [--quiet|--verbose] VERB [OPTIONS]\n"
    "\n"
    "Verbs:\n"
    "  check            check the config and whether the box is fit to halt; changes nothing\n"
    "  apply            bring addresses, routes, sysctls and the ruleset to the config, all or nothing\n"
    "  status           show the live state against the config\n"
    "  digest           print the SHA-256 digest of the live nftables ruleset\n"
    "  show-ruleset     print the nft text [gateway] generates, and the rules files that follow it\n"
    "  arm              apply, then prepare the halt: exitrd with the final stage and manifest, guards,\n"
    "                   the ruleset watcher on standby\n"
    "  disarm           take the halt preparation back; the network state stays\n"
    "  halt             arm, then start haltfw.target: halt into the halted firewall\n"
    "  watch            (run by haltfw-watch.service from 'arm' on) guard the armed ruleset from 'halt'\n"
    "                   to the final stage\n"
    "  verify-console   find the final stage's report in a captured serial log and judge it\n"
    "\n"
    "'haltfw VERB --help' shows a verb's options.\n"
    "Exit status: 0 ok/ready, 1 not ready or failed and rolled back (or another haltfw is running), 2 bad config or\n"
    "usage, 3 system error, 128+N a signal N came while changing the state (finished or rolled back first).\n";

const char* kVerifyConsoleHelp =
    "Exits 0 only for a complete HALTED-OK report whose body reports no failure and whose digest is\n"
    "the armed one: --digest HEX, or with --config FILE the digest FILE's ruleset arms, computed in a\n"
    "scratch network namespace (needs root; the live ruleset is not touched).\n\n";

const char* const kVerbs[] = {"check", "apply", "status", "digest", "show-ruleset", "arm", "disarm", "halt", "watch", "verify-console"};

po::options_description VerbOptions(const std::string& verb) {
    po::options_description d("Options for '" + verb + "'");
    d.add_options()("help,h", "show this help");
    if (verb == "apply") d.add_options()("dry-run,n", "print what would change, change nothing");
    if (verb == "apply" || verb == "arm" || verb == "disarm" || verb == "halt")
        d.add_options()("no-wait", "fail at once if another haltfw is changing the state (default: wait up to 30 s)");
    if (verb == "digest") d.add_options()("dump", "also print the canonical ruleset the digest is made of");
    if (verb == "arm" || verb == "halt")
        d.add_options()
            ("final", po::value<std::string>()->value_name("PATH"), "the final stage to install (default $HALTFW_FINAL, else " HALTFW_FINAL_PATH ")")
            ("wait-devices", po::value<int>()->default_value(0)->value_name("SECONDS"),
             "wait up to SECONDS for the configured devices to appear (and udev to finish with them)");
    if (verb == "verify-console")
        d.add_options()
            ("digest", po::value<std::string>()->value_name("HEX"), "accept only a report of this ruleset digest (as 'haltfw arm' printed it)")
            ("file", po::value<std::string>()->value_name("FILE"), "the captured serial log (or give it alone)");
    return d;
}

ArmOptions ArmOptionsOf(const po::variables_map& vm) {
    ArmOptions o;
    const char* env = std::getenv("HALTFW_FINAL");
    o.final_path = vm.count("final") ? vm["final"].as<std::string>() : env && *env ? env : HALTFW_FINAL_PATH;
    o.inert_required = o.final_path == HALTFW_FINAL_PATH;
    o.inert_path = o.inert_required ? HALTFW_INERT_PATH : InertBeside(o.final_path);
    o.wait_devices = vm["wait-devices"].as<int>();
    return o;
}

int RunVerb(const Globals& g, const std::string& verb, const std::vector<std::string>& args) {
    po::options_description opts = VerbOptions(verb);
    po::positional_options_description pos;
    if (verb == "verify-console") pos.add("file", 1);
    po::variables_map vm;
    try {
        po::store(po::command_line_parser(args).options(opts).positional(pos).run(), vm);
        if (vm.count("help")) {
            std::ostringstream help;
            help << "Usage: haltfw [--config FILE] " << verb << (verb == "verify-console" ? " [--digest HEX] FILE" : " [OPTIONS]") << "\n\n"
                 << (verb == "verify-console" ? kVerifyConsoleHelp : "") << opts;
            out.Result(help.str());
            return kOk;
        }
        po::notify(vm);
    } catch (const po::error& e) {
        Fail(verb + ": " + e.what() + " (try 'haltfw " + verb + " --help')");
        return kBadInput;
    }
    // One haltfw at a time (run_lock.h): the verbs that change state take
    // the lock before they read anything; the others say whether one is at
    // work, or what one that was killed left.
    bool changes = verb == "arm" || verb == "disarm" || verb == "halt" || verb == "watch" || (verb == "apply" && !vm.count("dry-run"));
    RunLock lock;
    std::optional<ChangeJournal> interrupted;
    if (changes) {
        if (int rc = TakeRunLock(verb, vm.count("no-wait") > 0, &lock, &interrupted); rc != kOk) return rc;
    } else if (verb != "verify-console") {
        NoticeOthers();
    }
    ChangeWindow window(verb, interrupted);
    if (verb == "check") return Check(g, args);
    if (verb == "apply") return EndChanges(&window, Apply(g, vm.count("dry-run") > 0, &window));
    if (verb == "status") return Status(g);
    if (verb == "show-ruleset") return ShowRuleset(g);
    if (verb == "arm") return EndChanges(&window, Arm(g, ArmOptionsOf(vm), &window));
    if (verb == "disarm") return EndChanges(&window, Disarm(&window));
    if (verb == "halt") return EndChanges(&window, Halt(g, ArmOptionsOf(vm), &window));
    if (verb == "watch") return WatchVerb();
    if (verb == "verify-console") {
        if (!vm.count("file")) {
            Fail("verify-console: no FILE given (usage: haltfw verify-console FILE)");
            return kBadInput;
        }
        return VerifyConsole(g, vm["file"].as<std::string>(), vm.count("digest") ? std::optional(vm["digest"].as<std::string>()) : std::nullopt);
    }
    return Digest(vm.count("dump") > 0);
}

}  // namespace

int main(int argc, char** argv) {
    Globals g;
    po::options_description global("Options");
    global.add_options()
        ("config,c", po::value<std::string>(&g.config), "configuration file (default /etc/haltfw/haltfw.conf)")
        ("quiet,q", po::bool_switch(&g.quiet), "print only errors, warnings and results")
        ("verbose,v", po::bool_switch(&g.verbose), "print more detail")
        ("help,h", "show this help")
        ("version", "print the version");
    po::options_description hidden;
    hidden.add_options()("verb", po::value<std::string>())("args", po::value<std::vector<std::string>>());
    po::options_description all;
    all.add(global).add(hidden);
    po::positional_options_description pos;
    pos.add("verb", 1).add("args", -1);

    try {
        // Options after the verb belong to the verb: stop global parsing at
        // the first positional argument.
        po::parsed_options parsed =
            po::command_line_parser(argc, argv).options(all).positional(pos).allow_unregistered().run();
        po::variables_map vm;
        po::store(parsed, vm);
        po::notify(vm);
        g.config_given = vm.count("config") > 0;
        if (g.quiet && g.verbose) {
            Fail("--quiet and --verbose contradict each other (try 'haltfw --help')");
            return kBadInput;
        }
        out = Log::ForProcess(g.quiet ? Verbosity::kQuiet : g.verbose ? Verbosity::kVerbose : Verbosity::kNormal);
        if (!vm.count("verb")) {
            if (vm.count("version")) {
                out.Result(std::string("haltfw ") + HALTFW_VERSION);
                return kOk;
            }
            std::ostringstream usage;
            usage << kUsage << "\n" << global;
            out.Result(usage.str());
            return vm.count("help") ? kOk : kBadInput;
        }
        std::string verb = vm["verb"].as<std::string>();
        if (std::find(std::begin(kVerbs), std::end(kVerbs), verb) == std::end(kVerbs)) {
            Fail("unknown verb '" + verb + "' (try 'haltfw --help')");
            return kBadInput;
        }
        std::vector<std::string> rest = po::collect_unrecognized(parsed.options, po::include_positional);
        rest.erase(rest.begin());  // the verb itself
        if (vm.count("help")) rest.push_back("--help");
        return RunVerb(g, verb, rest);
    } catch (const po::error& e) {
        Fail(std::string(e.what()) + " (try 'haltfw --help')");
        return kBadInput;
    }
}
