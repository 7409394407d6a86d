#include "cli/apply_verb.h"

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <memory>
#include <thread>

#include "arm/guards.h"
#include "core/apply.h"
#include "core/diag.h"
#include "core/state_file.h"
#include "net/rtnl.h"
#include "nft/nft_digest.h"
#include "nft/nft_dump.h"
#include "nft/nft_hooks.h"

namespace haltfw::cli {
namespace {

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
        // A device apply creates (bridge, VLAN, WireGuard) is not waited for.
        for (const ResolvedInterface& r : ResolveInterfaces(cfg, st))
            all &= !r.config->kind_key.empty() || (r.link && UdevDone(*r.link));
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
            Warn(std::string("the ruleset loaded ") +
                 (live->ruleset.objects.empty() ? "is empty" : "has no base chain") +
                 ": nothing is filtered ('haltfw check' and 'haltfw arm' refuse it on a box that forwards)");
        if (live->generation != expected && live->generation != before) {
            Warn("ruleset: another commit came with apply's (generation " + std::to_string(live->generation) +
                 " where " + std::to_string(expected) +
                 " was expected): not recorded as applied; the next apply loads it again");
            return;
        }
    }
    if (live->digest.empty()) return;
    AppliedState st{config, live->input_hash, live->generation, live->digest, 0};
    if (!WriteAppliedState(st, &err)) Warn(err + ", ignoring");
}

// Where a failed or stopped apply left the state, for the line a signal's
// exit prints, and how its changes ended.
void ReachedAfter(const ApplyResult& res, ChangeWindow* window) {
    std::string why = res.stopped ? "apply " + res.error + ": " : "";
    if (res.ok)
        window->Reached("the apply was finished first; the live state is the config's", ChangeWindow::Ending::kDone);
    else if (res.rollback_failures.empty())
        window->Reached(why + "every change was rolled back; the live state is as it was before the apply",
                        ChangeWindow::Ending::kUndone);
    else
        window->Reached(why + "the rollback is incomplete: check the network state", ChangeWindow::Ending::kHalf);
}

}  // namespace

int ApplyConfig(const Globals& g, bool dry_run, int wait_devices, Config* cfg, std::string* program,
                ChangeWindow* window, Live* unchanged_live, bool* unchanged) {
    if (unchanged) *unchanged = false;
    if (!LoadChecked(g, cfg, program, dry_run)) return kBadInput;
    if (wait_devices > 0) WaitForDevices(*cfg, wait_devices);
    Live live;
    if (!ReadLive(*cfg, false, &live)) return kSystem;
    // Someone else's commit, or an edit to a rules file, is worth a word:
    // the load below replaces the ruleset.
    if (live.has_applied && !live.ruleset_current)
        out.Say(Priority::kNotice, "ruleset: " + AppliedVerdict(live) + "; loading it again");
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
    ReachedAfter(res, window);
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

    bool loaded = std::any_of(plan.actions.begin(), plan.actions.end(),
                              [](const Action& a) { return a.kind == ActionKind::kRuleset; });
    RecordApplied(g.config, loaded, &live);
    out.Say(Priority::kNotice, "applied " + Count(plan.actions.size(), "change") + " (ruleset generation " +
                                   std::to_string(live.generation) + ")");
    if (unchanged_live) *unchanged_live = std::move(live);  // with the ruleset just read, for arm
    return kOk;
}

int ApplyVerb(const Globals& g, const VerbArgs& args, ChangeWindow* window) {
    Config cfg;
    std::string program;
    return ApplyConfig(g, args.dry_run, 0, &cfg, &program, window);
}

}  // namespace haltfw::cli
