// haltfw-final: the last program the machine runs. systemd-shutdown
// pivots into the exitrd (/run/initramfs) and execs it as /shutdown, PID 1,
// with the verb as argv[1] and the console on fds 0, 1 and 2.
//
// For "halt" with a valid armed manifest it becomes the halted firewall:
//   1. block every signal, get a console that survives unmounting /dev
//   2. kill what userspace is left (a survivor fails the halt); from here
//      on no usermode helper can start; stop every hardware watchdog that
//      runs (a reset would end the halted state)
//   3. verify the ruleset (restore it from the manifest if it differs;
//      fail closed, forwarding off, if it still differs), links, sysctls
//   4. take every mount off, check swap; meanwhile a second thread sets
//      sysrq (turning it off waits for the kernel)
//   5. lock down the rest: Ctrl-Alt-Del, sysrq as the thread wrote it
//   6. print the report on the console, then exec haltfw-inert, which
//      removes the exitrd's files and stays PID 1, inert, for ever (or,
//      without it, stay inert itself).
// Any other verb, or no valid manifest, does what systemd would have done
// (reboot, power off, halt, kexec) after taking the mounts off.
//
// It never calls reboot() for the firewall: halting runs the drivers'
// shutdown (the NICs stop) and then stops every CPU, so nothing would
// forward (docs/design.md). It never exits as PID 1 (the kernel would
// panic), and never throws: the library reports errors as values.
//
// The same binary serves two helpers that are not PID 1: `--watch`, the
// ruleset watcher through the shutdown (final/watcher.h), and `--verify`
// (final/verify_only.h).
#include <linux/reboot.h>
#include <malloc.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/reboot.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <utility>
#include <vector>

#include "base/exitrd_layout.h"
#include "final/console.h"
#include "final/fail_closed.h"
#include "final/netconsole_halt.h"
#include "final/pid1_steps.h"
#include "final/verify_only.h"
#include "final/watchdog_stop.h"
#include "final/watcher.h"
#include "halt/final_stage.h"
#include "halt/manifest.h"
#include "halt/proc_status.h"
#include "halt/report.h"
#include "halt/sys_files.h"
#include "halt/watchdogs.h"
#include "nft/nft_dump.h"

using namespace haltfw;

namespace {

// What the halted firewall found, for its report.
struct HaltFacts {
    ProcessScan procs;              // the last scan
    std::vector<std::string> left;  // userspace processes left, or alive during the checks
    std::string killed;
    UnmountResult mounts;
    std::vector<std::string> swaps;  // still active
    std::vector<WatchdogOutcome> watchdogs;
    std::string watch;
    int watch_restored = -1;
    Check rules, links, sysctls;
    Check wireguard;                // without a WireGuard device: not run, no line
    std::string digest;
    int addresses = 0;
    std::vector<std::string> forwarding_failed;
    std::vector<std::string> bridges_down;
    std::string panic;
    std::string netconsole;         // the report's line; empty without [halt] netconsole
    bool netconsole_sending = false;
    std::string lockdown;
    long mem_total = 0, mem_used = 0, verify_ms = 0;
};

// What a kernel panic does now ([halt] panic-reboot, verified with the
// sysctls just before): the kernel's own settings, read.
std::string PanicNow() {
    std::string panic, on_oops, err, ignored;
    if (!ReadSysctl("kernel.panic", &panic, &err)) return PanicLine("", "", err);
    (void)ReadSysctl("kernel.panic_on_oops", &on_oops, &ignored);  // "?" in the line if it fails
    return PanicLine(panic, on_oops);
}

// The report: a line per step, then the machine line.
HaltReport FirewallReport(const Manifest& m, const HaltFacts& f) {
    HaltReport r;
    r.version = HALTFW_VERSION;
    r.lines.push_back("verb 'halt' with a manifest armed by haltfw " + m.version + ": halted firewall");
    r.lines.push_back("processes: " + (f.left.empty() ? std::string("none but PID 1") : "LEFT: " + JoinList(f.left)) +
                      " (" + std::to_string(f.procs.kernel_threads) + " kernel threads)" +
                      (f.killed.empty() ? "" : "; killed: " + f.killed));
    r.lines.push_back("mounts: " + std::to_string(f.mounts.unmounted) + " taken off" +
                      (f.mounts.lazy.empty() ? "" : " (lazily: " + JoinList(f.mounts.lazy) + ")") +
                      (f.mounts.left.empty() ? "; none left but the exitrd and /proc"
                                             : "; LEFT: " + JoinList(f.mounts.left)));
    r.lines.push_back("swap: " + (f.swaps.empty() ? std::string("off") : "STILL ON: " + JoinList(f.swaps)));
    for (std::string& l : WatchdogReportLines(f.watchdogs)) r.lines.push_back(std::move(l));
    r.lines.push_back("watch: " + f.watch);
    r.lines.push_back("ruleset: " + f.rules.detail);
    if (!m.wireguard.empty()) r.lines.push_back("wireguard: " + f.wireguard.detail);
    r.lines.push_back("links: " + f.links.detail);
    r.lines.push_back("sysctls: " + f.sysctls.detail);
    r.lines.push_back("panic: " + f.panic);
    // What arm found of a crash before this boot (core/pstore.h), as it found it.
    if (!m.pstore.empty()) r.lines.push_back("pstore: " + m.pstore);
    if (!f.netconsole.empty()) r.lines.push_back("netconsole: " + f.netconsole);
    if (!f.rules.ok)
        r.lines.push_back("forwarding: turned OFF for every family (fail closed)" +
                          (f.bridges_down.empty() ? "" : "; bridges set down: " + JoinList(f.bridges_down)) +
                          (f.forwarding_failed.empty() ? "" : "; FAILED: " + JoinList(f.forwarding_failed)));
    r.lines.push_back("lockdown: " + f.lockdown);
    // The final stage's peak resident set during the verification (a dump
    // of the ruleset, or the armed one being restored, never both). What
    // PID 1 holds for ever is haltfw-inert's, on its INERT line after the
    // report.
    long rss_peak = StatusKib(ReadSysFile("/proc/self/status"), "VmHWM");
    r.lines.push_back("memory: " + std::to_string(f.mem_used) + " KiB used of " + std::to_string(f.mem_total) +
                      " KiB; final stage peak resident " + std::to_string(rss_peak) + " KiB");

    // The first failure names the halt's: the report's order.
    const char* reason = "";
    if (!f.rules.ok) reason = "ruleset";
    // A WireGuard device that cannot be made fails the links' check too:
    // the first cause is named.
    else if (!m.wireguard.empty() && !f.wireguard.ok) reason = "wireguard";
    else if (!f.links.ok) reason = "links";
    else if (!f.sysctls.ok) reason = "sysctls";
    else if (!f.left.empty()) reason = "processes";
    else if (!f.mounts.left.empty()) reason = "mounts";
    else if (!f.swaps.empty()) reason = "swap";
    // A watchdog left running resets the box within its timeout: it
    // forwards under the armed ruleset until then, but what comes back is a
    // live box, not the halted firewall this report would vouch for.
    else if (!std::all_of(f.watchdogs.begin(), f.watchdogs.end(), WatchdogQuiet)) reason = "watchdog";
    else if (f.lockdown.find("FAILED") != std::string::npos) reason = "lockdown";
    r.ok = *reason == '\0';
    r.reason = reason;
    r.fields = {{"digest", f.digest},
                {"links", std::to_string(m.links.size())},
                {"addresses", std::to_string(f.addresses)},
                {"processes", std::to_string(1 + f.left.size())},
                {"mounts_left", std::to_string(f.mounts.left.size())},
                {"swap", std::to_string(f.swaps.size())},
                {"restored", f.rules.repaired ? "1" : "0"},
                {"mem_used_kib", std::to_string(f.mem_used)},
                {"verify_ms", std::to_string(f.verify_ms)},
                {"rss_peak_kib", std::to_string(rss_peak)}};
    if (f.watch_restored >= 0) r.fields.push_back({"watch_restored", std::to_string(f.watch_restored)});
    // The armed devices' digest, vouched for only when they are as armed.
    if (!m.wireguard.empty() && f.wireguard.ok) r.fields.push_back({"wireguard", WireguardDigest(m.wireguard)});
    return r;
}

[[noreturn]] void Firewall(Manifest m) {
    long t0 = MonotonicMs();
    HaltFacts f;

    // Everything but the watcher goes first; the watcher, and its guard
    // (the owned copy of the armed ruleset), stay until the user's own
    // tables are verified, so that the ruleset is never unguarded.
    long watcher = LiveWatcher();
    f.killed = KillLeftovers(&f.procs, watcher);
    std::vector<std::string> helpers_failed = HelpersOff();
    // As early as it can be: a watchdog whose feeder died in the shutdown
    // runs out its timeout from then on, and the checks below can take
    // seconds (a large set). Not before the kill (the device is single
    // open, and its holder must be gone) nor before kernel.modprobe is
    // empty (opening a device number no driver has asks for a module).
    f.watchdogs = StopWatchdogs();
    // Whatever survived the kill was alive during the checks below, so it
    // fails the halt even if it is gone by the last scan (its end could
    // still have changed what they checked: a tap device it held, say).
    std::vector<std::string> survivors = f.procs.userspace;

    // The checks come before the unmounts: with no userspace left (or else
    // the halt fails, above) nothing changes the ruleset, links or sysctls
    // any more. After the old root's unmount a ruleset check took from 30
    // to 170 ms under QEMU, against 27-30 ms before it: probably the kernel
    // freeing that file system's inodes and dentries (RCU callbacks) on
    // the one CPU (docs/benchmarks.md).
    // Bridges, VLANs and WireGuard devices before the ruleset: a flowtable
    // or netdev chain may name one that a unit deleted, and only a device
    // that exists can be named by the restore.
    DeviceRepairs devices = RemakeDevices(m);
    if (!m.wireguard.empty()) f.wireguard = VerifyWireguard(m);
    uint32_t verified_at = 0;
    RulesetStamp by_watcher = WatcherProof();
    // A device deleted or made again may have taken a chain's or a
    // flowtable's hook with it, with no new generation: read it then.
    f.rules = VerifyRuleset(m, &f.digest, &verified_at, &by_watcher, devices.changed || f.wireguard.repaired);
    f.watch = EndWatcher(watcher, &f.watch_restored);
    // Its end takes the guard away without a ruleset transaction; only the
    // watcher itself could have committed since the check (a restore of
    // the armed ruleset). A generation that moved is checked again.
    uint32_t now = 0;
    std::string gen_err;
    if (f.rules.ok && (!RulesetGeneration(&now, &gen_err) || now != verified_at)) f.rules = VerifyRuleset(m, &f.digest);
    f.links = VerifyLinks(m, &f.addresses, devices);
    f.sysctls = VerifySysctls(m);
    f.panic = PanicNow();
    // Before the report, which it is there to carry.
    if (m.netconsole) f.netconsole = NetconsoleAtHalt(*m.netconsole, &f.netconsole_sending);
    if (!f.rules.ok) f.forwarding_failed = ForwardingOff(m, &f.bridges_down);  // fail closed
    // The dumps and the armed ruleset (read from the manifest only for a
    // restore) served to verify and are never needed again: give their
    // memory back now (the exec into haltfw-inert drops the whole heap, but
    // the memory figures below come first, and without haltfw-inert it
    // would stay resident for ever). malloc_trim, because glibc keeps freed
    // small chunks in its heap otherwise.
    m.ruleset = NftRuleset{};
    (void)malloc_trim(0);  // returns whether it gave memory back: either is fine

    SysrqWrite sysrq;
    StartSysrqWrite(m.sysrq, &sysrq);
    f.mounts = UnmountAll();
    f.swaps = SwapsOff(ActiveSwaps());
    f.lockdown = Lockdown(m, std::move(helpers_failed), FinishSysrqWrite(&sysrq));
    f.mem_used = MemUsedKib(&f.mem_total);
    f.procs = ScanProcesses();
    f.verify_ms = MonotonicMs() - t0;
    f.left = f.procs.userspace;
    for (const std::string& p : survivors)
        if (std::find(f.left.begin(), f.left.end(), p) == f.left.end())
            f.left.push_back(p + " (alive during the checks)");

    HaltReport r = FirewallReport(m, f);
    std::string report = FormatReport(r);
    WriteConsole(report);
    // With netconsole, the kernel log's copy is the report itself, lines
    // as on the console, so that a capture of it is a report
    // verify-console can judge; else a copy of its lines to go with the
    // other messages.
    if (!f.netconsole_sending || !KmsgLines(report)) {
        for (const std::string& l : r.lines) Kmsg(l);
        Kmsg(r.ok ? "HALTED-OK" : "HALTED-FAIL reason=" + r.reason);
    }

    // Keep nothing open but the console.
    CloseKmsg();
    // With netconsole, haltfw-inert's lines go to the kernel log too.
    BecomeInert(m.ctrl_alt_del, m.heartbeat_s, m.netconsole.has_value());
}

// Any verb but a halt with a valid manifest: what systemd-shutdown would
// have done, once the mounts are off.
[[noreturn]] void Finish(FinalAction a) {
    ProcessScan procs;
    std::string killed = KillLeftovers(&procs);  // the watcher on standby among them, if armed
    UnmountResult um = UnmountAll();
    sync();
    Say(std::string(FinalActionName(a)) + " (" + std::to_string(um.unmounted) + " mounts taken off" +
        (um.left.empty() ? "" : ", left: " + JoinList(um.left)) + (killed.empty() ? "" : "; killed: " + killed) + ")");
    switch (a) {
        case FinalAction::kPowerOff: (void)reboot(RB_POWER_OFF); break;
        case FinalAction::kHalt: (void)reboot(RB_HALT_SYSTEM); break;
        case FinalAction::kKexec:
            (void)reboot(LINUX_REBOOT_CMD_KEXEC);  // no kernel loaded for kexec: reboot instead
            (void)reboot(RB_AUTOBOOT);
            break;
        default: (void)reboot(RB_AUTOBOOT); break;
    }
    // reboot() returns only when it failed.
    Say(std::string("reboot() failed: ") + std::strerror(errno) + "; staying inert");
    Inert(CtrlAltDelAction::kIgnore);
}

// Not PID 1: the two helpers, or a refusal.
int NotPid1(int argc, char** argv) {
    if (argc == 3 && std::strcmp(argv[1], "--verify") == 0) return VerifyOnly(argv[2]);
    if (argc == 6 && std::strcmp(argv[1], "--watch") == 0)
        return Watch(argv[2], argv[3], std::atoi(argv[4]), std::atoi(argv[5]));
    std::fprintf(stderr,
                 "haltfw-final: refusing to run: not PID 1 (systemd-shutdown runs it from the exitrd)\n"
                 "usage: haltfw-final --verify MANIFEST        (verify the live state against a manifest and\n"
                 "                     repair it, as the final stage does: devices, ruleset, links)\n"
                 "       haltfw-final --watch MANIFEST STATE IPV4FD IPV6FD\n"
                 "                     (guard the ruleset during the shutdown, from SIGUSR1 on:\n"
                 "                      what 'haltfw watch' runs)\n");
    return 2;
}

}  // namespace

int main(int argc, char** argv) {
    // First, before anything allocates: an allocation that fails, or an
    // exception nothing catches (libstdc++'s own; this program is built
    // without exceptions), turns forwarding off and stops there
    // (final/fail_closed.h), where the default, abort(), would panic the
    // kernel as PID 1. Deciding the mode allocates nothing.
    bool pid1 = getpid() == 1;
    bool watch = !pid1 && argc == 6 && std::strcmp(argv[1], "--watch") == 0;
    InstallFailClosed(pid1 ? FailClosedMode::kPid1 : watch ? FailClosedMode::kWatch : FailClosedMode::kVerify,
                      watch ? std::atoi(argv[4]) : -1, watch ? std::atoi(argv[5]) : -1);
    // Every large block (a set's elements, a restore's batch) straight from
    // mmap and back to the kernel when freed. glibc would otherwise raise
    // its threshold to the largest block freed and keep later ones in its
    // heap: the peak of a restore of 1,000,000 elements 43 MB, not 36 MB.
    (void)mallopt(M_MMAP_THRESHOLD, 64 * 1024);  // a value in range: cannot fail
    // The manifest holds WireGuard keys: no core dump of a process that read it.
    (void)prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);  // a valid value: cannot fail
    if (!pid1) return NotPid1(argc, argv);
    // Before anything else: a signal left to its default does nothing to
    // PID 1, but blocked is certain, and sigwaitinfo takes them later.
    sigset_t all;
    sigfillset(&all);
    (void)sigprocmask(SIG_BLOCK, &all, nullptr);  // a valid set and how: cannot fail
    OwnConsole();
    (void)EnsureProc();  // said on the console if it fails; the report shows what it cost

    std::string verb = argc > 1 ? argv[1] : "";
    Manifest m;
    std::string err;
    // The ruleset stays in the file until a restore needs it (VerifyRuleset).
    bool valid = ReadManifestFile(kExitrdManifest, &m, &err, ManifestRuleset::kLeaveInFile);
    FinalAction action = DecideAction(verb, valid);
    if (verb == "halt" && !valid) Say("no valid manifest (" + err + "): an ordinary halt");
    if (action == FinalAction::kFirewall) Firewall(std::move(m));
    Finish(action);
}
