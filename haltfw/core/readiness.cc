#include "core/readiness.h"

#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <sys/socket.h>

#include <algorithm>
#include <cstdlib>

#include "core/bridge_filter.h"
#include "core/longevity.h"
#include "core/topology.h"
#include "core/wireguard_config.h"
#include "nft/nft_attrs.h"
#include "nft/nft_digest.h"
#include "nft/nft_hooks.h"

namespace haltfw {
namespace {

bool Configured(const InterfaceConfig& c, const Prefix& p) {
    for (const AddressSpec& a : c.addresses)
        if (a.prefix == p) return true;
    return false;
}

bool IsLinkLocal6(const Prefix& p) {
    return p.addr.family == AF_INET6 && p.addr.bytes[0] == 0xfe && (p.addr.bytes[1] & 0xc0) == 0x80;
}

void CheckInterfaces(const ReadinessInputs& in, Readiness* r) {
    for (const ResolvedInterface& ri : *in.interfaces) {
        const InterfaceConfig& c = *ri.config;
        if (!ri.link) {
            r->blockers.push_back("interface " + c.Describe() + ": the device does not exist" +
                                  (c.kind_key.empty() ? "" : " yet ('haltfw apply' creates it)"));
            continue;
        }
        std::string where = "interface '" + c.role + "' (" + ri.link->name + ")";
        int lasting = 0;
        for (const Address& a : in.state->addresses) {
            if (a.ifindex != ri.link->index) continue;
            // Kernel-made privacy addresses are no lease: the kernel replaces
            // them itself (CheckTemporaryAddresses, longevity.cc).
            if (IsTemporaryAddress(a)) continue;
            bool mine = Configured(c, a.prefix);
            lasting += !a.finite();
            if (a.finite()) {
                r->blockers.push_back(where + ": address " + FormatPrefix(a.prefix) + " has a finite lifetime (valid " +
                                      std::to_string(a.valid_lft) +
                                      " s): a DHCP or router-advertisement lease expires once userspace is gone" +
                                      (mine ? "; 'haltfw apply' makes it static, but whatever set the lifetime must "
                                              "stop managing this interface"
                                            : ""));
            } else if (!mine && !IsLinkLocal6(a.prefix)) {
                r->warnings.push_back(where + ": address " + FormatPrefix(a.prefix) +
                                      " is not in the config; it stays as it is");
            }
        }
        r->fine.push_back(where + ": exists; " + std::to_string(lasting) +
                          (lasting == 1 ? " address" : " addresses") + " with no lifetime to run out");
        if (IsWireguard(c))
            r->warnings.push_back(where +
                                  ": a WireGuard device; the final stage does not yet check or repair its key, port "
                                  "and peers: a unit that deletes or changes it at stop (wg-quick@) leaves the halted "
                                  "box without the tunnel as configured");
    }
}

// Quotas count bytes as packets pass, and a restore cannot set what they
// have counted: a quota put back starts again from nothing.
void CheckQuotas(const NftRuleset& rs, Readiness* r) {
    std::vector<std::string> where;
    for (const NftObject& o : rs.objects) {
        std::string at = NftFamilyName(o.family) + " " + o.table + " " + o.name;
        if (o.kind == NftKind::kObj && ObjectType(o.payload) == NFT_OBJECT_QUOTA) where.push_back("quota " + at);
        else if (o.kind == NftKind::kRule && RuleHasExpression(o.payload, "quota"))
            where.push_back("a rule in chain " + at);
        else if (o.kind == NftKind::kSet && SetHasExpression(o.payload, "quota"))
            where.push_back("the elements of set " + at);
    }
    if (where.empty()) return;
    std::sort(where.begin(), where.end());
    where.erase(std::unique(where.begin(), where.end()), where.end());
    std::string list;
    for (const std::string& w : where) list += (list.empty() ? "" : ", ") + w;
    r->warnings.push_back("ruleset: quotas (" + list +
                          ") start again from 0 bytes if the ruleset has to be restored during or after "
                          "the halt: what a quota counted before it lets through again");
}

// The connection tracking table: a full one holds nf_conntrack_max
// entries, each a 256-320-byte nf_conn (its slab's object size on 6.1 and
// 6.18) with its extensions (NAT, accounting) and its share of the hash
// table: 512 bytes, taken on the high side. A table that cannot fit in
// memory fills under a flood of new connections, and the halted box runs
// out of memory.
constexpr uint64_t kConntrackEntryBytes = 512;

void CheckConntrack(const ReadinessInputs& in, Readiness* r) {
    std::string v;
    // No key: conntrack is not loaded, and nothing of the ruleset uses it.
    if (!in.read_sysctl || in.mem_available_kib == 0 || !in.read_sysctl("net.netfilter.nf_conntrack_max", &v))
        return;
    uint64_t max = std::strtoull(v.c_str(), nullptr, 10);
    uint64_t full_kib = max * kConntrackEntryBytes / 1024;
    if (full_kib <= in.mem_available_kib) {
        r->fine.push_back("conntrack: a full table (" + std::to_string(max) + " connections) takes about " +
                          std::to_string(full_kib / 1024) + " MiB, and " + std::to_string(in.mem_available_kib / 1024) +
                          " MiB are available");
        return;
    }
    r->warnings.push_back("conntrack: its table may hold " + std::to_string(max) +
                          " connections (net.netfilter.nf_conntrack_max), about " +
                          std::to_string(full_kib / 1024) + " MiB of kernel memory when full, and only " +
                          std::to_string(in.mem_available_kib / 1024) +
                          " MiB are available (MemAvailable): a flood of new connections would run the halted "
                          "box out of memory, and it would panic; lower net.netfilter.nf_conntrack_max in "
                          "[sysctl]");
}

// A watchdog that runs and cannot be stopped (nowayout) survives systemd's
// magic close at the halt, and with nothing left to feed it, it resets the
// halted box when its timeout runs out.
void CheckWatchdogs(const ReadinessInputs& in, Readiness* r) {
    if (in.watchdogs.empty()) r->fine.push_back("watchdog: none");
    for (const Watchdog& w : in.watchdogs) {
        std::string what = w.name + (w.identity.empty() ? "" : " (" + w.identity + ")");
        if (!w.active || !w.nowayout) {
            r->fine.push_back("watchdog: " + what +
                              (w.active ? " runs, and systemd's magic close stops it at the halt" : " is not running"));
            continue;
        }
        std::string when =
            w.timeout_s > 0 ? "within " + std::to_string(w.timeout_s) + " s of the halt" : "soon after the halt";
        r->blockers.push_back("watchdog: " + what +
                              " is running and cannot be stopped (nowayout): nothing feeds it once the box is "
                              "halted, and it resets the box " +
                              when + "; load its driver with nowayout=0, or do not start it");
    }
}

// A PID 1 that runs out of memory panics the kernel, and a panicked box
// forwards nothing: the halt must fit with room to spare.
void CheckMemory(const ReadinessInputs& in, Readiness* r) {
    if (!in.ruleset || in.mem_available_kib == 0) return;
    uint64_t need = HaltMemoryKib(*in.ruleset);
    if (need <= in.mem_available_kib) {
        r->fine.push_back("ruleset: halting with it needs about " + std::to_string(need / 1024 + 1) + " MiB, and " +
                          std::to_string(in.mem_available_kib / 1024) + " MiB are available");
        return;
    }
    r->blockers.push_back("ruleset: halting with it needs about " + std::to_string(need / 1024 + 1) + " MiB (" +
                          std::to_string(in.ruleset->size()) +
                          " objects, held by the final stage and the ruleset watcher, "
                          "and by the kernel twice with the shutdown guard's copy) and only " +
                          std::to_string(in.mem_available_kib / 1024) + " MiB are available (MemAvailable): "
                          "a final stage that runs out of memory panics the kernel");
}

void CheckRuleset(const ReadinessInputs& in, Readiness* r) {
    if (!in.ruleset) {
        r->warnings.push_back("the ruleset's statements could not be examined: " + in.ruleset_note);
    } else {
        for (const NftObject& o : in.ruleset->objects) {
            for (const std::string& st : o.daemon_statements)
                r->blockers.push_back("ruleset: chain " + NftFamilyName(o.family) + " " + o.table + " " + o.name +
                                      " uses '" + st + "', which needs a userspace daemon");
        }
        CheckQuotas(*in.ruleset, r);
        CheckMemory(in, r);
        if (in.restore_problem.empty())
            r->fine.push_back("ruleset: a trial restore in a scratch network namespace put it back whole");
        if (!in.restore_problem.empty())
            r->blockers.push_back(
                "ruleset: the final stage could not put it back if a unit flushed or changed it on the way down "
                "(a trial restore in a scratch network namespace: " +
                in.restore_problem + "); the halted box would fail closed, forwarding off");
    }
    // Owned tables vanish when the owner's socket closes, which it will at
    // the halt (firewalld 2.x creates them by default).
    for (const NftRuleset* rs : {in.ruleset, in.live}) {
        if (!rs) continue;
        for (const NftObject& o : rs->objects) {
            // The live ruleset of a halt still under way (one that did not
            // happen) holds the watcher's shutdown guard, which goes with
            // the watcher that arm restarts; it is not the user's ruleset.
            if (rs == in.live && o.kind == NftKind::kTable && o.name.starts_with("haltfw_guard_")) continue;
            if (o.kind == NftKind::kTable && (o.flags & NFT_TABLE_F_OWNER))
                r->blockers.push_back("ruleset: table " + NftFamilyName(o.family) + " " + o.name +
                                      " is owned by a process (flag 'owner') and vanishes when that process exits");
        }
        if (rs == in.live && in.live == in.ruleset) break;
    }
}

// An address family the box may route, and the sysctls that turn its
// forwarding on.
struct Family {
    uint8_t nfproto;
    const char* name;      ///< "IPv4", for messages.
    const char* families;  ///< The nft families whose chains see it.
    const char* conf;      ///< Its per-interface prefix, "net.ipv4.conf.".
    std::vector<std::string> all;  ///< The switches for every interface; the first is read live.
};

const Family kFamilies[] = {
    // ip_forward and conf.all.forwarding are one switch (the kernel sets
    // either from the other).
    {NFPROTO_IPV4, "IPv4", "ip or inet", "net.ipv4.conf.", {"net.ipv4.ip_forward", "net.ipv4.conf.all.forwarding"}},
    {NFPROTO_IPV6, "IPv6", "ip6 or inet", "net.ipv6.conf.", {"net.ipv6.conf.all.forwarding"}},
};

bool IsForwardingKey(const Family& f, const std::string& key) {
    return std::find(f.all.begin(), f.all.end(), key) != f.all.end() ||
           (key.starts_with(f.conf) && key.ends_with(".forwarding"));
}

// Whether the box forwards `f` once the config is applied, and which setting
// says so ("net.ipv4.ip_forward = 1 (as [sysctl] sets it)"); "" if it does
// not. [sysctl] decides if it sets the family's switch or turns forwarding
// on for any interface (the kernel then forwards what arrives there); else
// the switch as it is now. *present is false when that cannot be read and
// the config says nothing (the kernel has no such family).
std::string Forwarding(const ReadinessInputs& in, const Family& f, bool* present) {
    *present = true;
    bool config_sets_switch = false;
    for (const SysctlSetting& s : in.config->sysctls) {
        if (!IsForwardingKey(f, s.key)) continue;
        if (s.value != "0") return s.key + " = " + s.value + " (as [sysctl] sets it)";
        config_sets_switch |= std::find(f.all.begin(), f.all.end(), s.key) != f.all.end();
    }
    if (config_sets_switch) return "";
    std::string v;
    if (!in.read_sysctl || !in.read_sysctl(f.all[0], &v)) {
        *present = false;
        return "";
    }
    while (!v.empty() && (v.back() == '\n' || v.back() == ' ')) v.pop_back();
    return v == "0" ? "" : f.all[0] + " = " + v + " (as it is now; [sysctl] does not set it)";
}

// With no base chain on its forward hook, a family the box forwards passes
// through the ruleset untouched: the halted box would be a plain router.
// Nothing on the input hook leaves the box itself open, which may be meant.
void CheckHooks(const ReadinessInputs& in, Readiness* r) {
    if (!in.ruleset) return;  // CheckRuleset said why
    std::vector<NftBaseChain> chains = BaseChains(*in.ruleset);
    for (const Family& f : kFamilies) {
        bool present = true;
        std::string on = Forwarding(in, f, &present);
        if (HasBaseChain(chains, f.nfproto, NF_INET_FORWARD))
            r->fine.push_back(std::string("ruleset: a base chain on the forward hook for ") + f.name);
        if (!on.empty() && !HasBaseChain(chains, f.nfproto, NF_INET_FORWARD))
            r->blockers.push_back(std::string("ruleset: no base chain on the forward hook for ") + f.name +
                                  " (a chain of family " + f.families + " with 'hook forward'), and " + on +
                                  ": the halted box would forward every " + f.name + " packet unfiltered");
        if (present && !HasBaseChain(chains, f.nfproto, NF_INET_LOCAL_IN))
            r->warnings.push_back(std::string("ruleset: no base chain on the input hook for ") + f.name +
                                  " (a chain of family " + f.families + " with 'hook input'): every " + f.name +
                                  " packet to the box itself is accepted");
    }
}

void CheckEnvironment(const ReadinessInputs& in, Readiness* r) {
    const Config& cfg = *in.config;
    bool v6_address = false, v6_gateway = false;
    for (const InterfaceConfig& c : cfg.interfaces) {
        for (const AddressSpec& a : c.addresses) v6_address |= a.prefix.addr.family == AF_INET6;
        v6_gateway |= c.gateway6.has_value();
    }
    if (v6_address && !v6_gateway)
        r->warnings.push_back(
            "IPv6 is configured without a static gateway6: haltfw turns router advertisements off (accept_ra = 0), so "
            "IPv6 beyond the local links needs gateway6");
    bool forwarding = false;
    for (const SysctlSetting& s : cfg.sysctls)
        if ((s.key == "net.ipv4.ip_forward" || s.key == "net.ipv4.conf.all.forwarding" ||
             s.key == "net.ipv6.conf.all.forwarding") &&
            s.value == "1")
            forwarding = true;
    // A bridge forwards at layer 2 whatever the IP forwarding switches say:
    // a box of bridges with no address routes nothing, by design.
    bool only_bridges = std::all_of(cfg.interfaces.begin(), cfg.interfaces.end(), [](const InterfaceConfig& c) {
        return c.addresses.empty() && (c.IsBridge() || c.kind_key.empty());
    });
    if (!forwarding && !(only_bridges && !cfg.interfaces.empty() &&
                         std::any_of(cfg.interfaces.begin(), cfg.interfaces.end(),
                                     [](const InterfaceConfig& c) { return c.IsBridge(); })))
        r->warnings.push_back(
            "no [sysctl] turns forwarding on (net.ipv4.ip_forward = 1): the halted box will route nothing");
    if (in.firewalld_installed)
        r->warnings.push_back(
            "firewalld is installed: it replaces the ruleset when it starts and flushes it when it stops "
            "(CleanupOnExit)");
    if (in.networkmanager_installed)
        r->warnings.push_back(
            "NetworkManager is installed: it may change addresses haltfw configured, and takes down Wi-Fi and shared "
            "connections at shutdown");
}

}  // namespace

namespace {

// A set element of `payload` bytes, at the final stage's check. Measured
// with 1,000,000 IPv4 elements (12-byte payloads) on kernel 6.18:
//   - the final stage (haltfw-final --verify: 35 MiB unchanged and
//     restoring alike, 3 MiB of it the program): one listing held
//     (payload + 6) and two listings' fingerprints (16), or the armed
//     ruleset (payload + 6) and its restore batch (payload + 4); taken as
//     2 x payload + 24;
//   - the ruleset watcher, the same work: 36 MB at its peak (the armed
//     ruleset read for the guard and the guard's batch), 3-7 MB after;
//     2 x payload + 24;
//   - the kernel, the guard's copy of the set: 81 MB (83 bytes an
//     element), taken as 2 x payload + 64;
//   - the kernel while a restore commits: its batch and transaction, 34 MB
//     more at the peak, and the old set until the commit frees it (a
//     restore over a changed ruleset): payload + 24, and 2 x payload + 64.
// Each measured figure is a peak; they do not all happen at once.
constexpr uint64_t ElementBytes(uint64_t payload) {
    return (2 * payload + 24) + (2 * payload + 24) + (2 * payload + 64) + (payload + 24) + (2 * payload + 64);
}

}  // namespace

uint64_t HaltMemoryKib(const NftRuleset& rs) {
    // Other objects (chains, rules) are few and each an NftObject with its
    // strings in both processes: about 600 bytes a process, and the
    // kernel's copy for the guard taken as 512. 3 MiB of program each.
    uint64_t bytes = 0;
    for (const NftObject& o : rs.objects) bytes += 2 * 600 + 512 + 4 * o.payload.size();
    for (const NftElements& g : rs.elements)
        for (size_t i = 0; i < g.size(); ++i) bytes += ElementBytes(g[i].size());
    return 2 * 3 * 1024 + bytes / 1024;
}

namespace {

// A panic is the one thing that still ends a halted box, and with
// kernel.panic = 0 (the kernel's default) it stays down, forwarding
// nothing, until someone resets it. A box that arms and halts at boot (the
// kiosk) is back as the halted firewall after a reboot, so a timeout is
// worth having. The value that counts is the one armed: the config's
// ([halt] panic-reboot, or [sysctl] kernel.panic), else the live one.
void CheckPanicReboot(const ReadinessInputs& in, Readiness* r) {
    const SysctlSetting* set = nullptr;
    for (const SysctlSetting& s : in.config->sysctls)
        if (s.key == "kernel.panic") set = &s;
    std::string value, from;
    if (set) {
        value = set->value;
        from = in.config->halt.panic_reboot_s > 0 ? "[halt] panic-reboot" : "[sysctl]";
    } else if (in.read_sysctl && in.read_sysctl("kernel.panic", &value)) {
        from = "now; the config leaves it";
    } else {
        return;  // not known: nothing to say
    }
    long seconds = std::strtol(value.c_str(), nullptr, 10);
    std::string setting = "kernel.panic = " + std::to_string(seconds) + ", " + from;
    if (seconds > 0)
        r->fine.push_back("kernel: a kernel panic reboots the box " + std::to_string(seconds) + " s later (" +
                          setting + ")");
    else if (seconds < 0)
        r->fine.push_back("kernel: a kernel panic reboots the box at once (" + setting + ")");
    else
        r->warnings.push_back(
            "kernel: a kernel panic leaves the halted box down, forwarding nothing, until someone resets it (" +
            setting + "); [halt] panic-reboot = SECONDS reboots it (and a box that arms and halts at boot comes back "
                      "halted)");
}

}  // namespace

Readiness AssessReadiness(const ReadinessInputs& in) {
    Readiness r;
    CheckInterfaces(in, &r);
    CheckSilentBridges(in, &r);
    CheckBridgeNetfilter(in, &r);
    CheckRuleset(in, &r);
    CheckHooks(in, &r);
    CheckEnvironment(in, &r);
    CheckConntrack(in, &r);
    // What changes later, with nobody left to act (longevity.h).
    CheckConntrackFill(in, &r);
    CheckTemporaryAddresses(in, &r);
    if (in.ruleset) CheckFillingSets(*in.ruleset, &r);
    if (in.ruleset) CheckExpiringElements(*in.ruleset, &r);
    CheckWatchdogs(in, &r);
    CheckPanicReboot(in, &r);
    CheckNetconsole(in, &r);
    CheckWireguardPeers(in, &r);
    return r;
}

}  // namespace haltfw
