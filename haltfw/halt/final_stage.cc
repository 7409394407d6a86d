#include "halt/final_stage.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "nft/nft_digest.h"
#include "nft/nft_restore.h"
#include "nft/ruleset_stamp.h"
#include "net/rtnl.h"
#include "net/sysctl.h"
#include "net/wireguard.h"
#include "base/text_lines.h"

namespace haltfw {
namespace {

// mountinfo escapes space, tab, newline and backslash as \ooo.
std::string Unescape(std::string_view s) {
    std::string out;
    for (size_t i = 0; i < s.size(); ++i) {
        if (s[i] == '\\' && i + 3 < s.size()) {
            int v = 0;
            bool ok = true;
            for (size_t j = 1; j <= 3; ++j) {
                char c = s[i + j];
                if (c < '0' || c > '7') ok = false;
                v = v * 8 + (c - '0');
            }
            if (ok) {
                out += static_cast<char>(v);
                i += 3;
                continue;
            }
        }
        out += s[i];
    }
    return out;
}

std::vector<std::string_view> Fields(std::string_view line) {
    std::vector<std::string_view> f;
    size_t i = 0;
    while (i < line.size()) {
        size_t sp = line.find(' ', i);
        if (sp == std::string_view::npos) sp = line.size();
        f.push_back(line.substr(i, sp - i));
        i = sp + 1;
    }
    return f;
}

}  // namespace

FinalAction DecideAction(std::string_view verb, bool manifest_valid) {
    if (verb == "halt") return manifest_valid ? FinalAction::kFirewall : FinalAction::kHalt;
    if (verb == "poweroff") return FinalAction::kPowerOff;
    if (verb == "kexec") return FinalAction::kKexec;
    return FinalAction::kReboot;  // "reboot", and anything unexpected
}

const char* FinalActionName(FinalAction a) {
    switch (a) {
        case FinalAction::kFirewall: return "halted firewall";
        case FinalAction::kHalt: return "halt";
        case FinalAction::kPowerOff: return "power off";
        case FinalAction::kReboot: return "reboot";
        case FinalAction::kKexec: return "kexec";
    }
    return "?";
}

std::vector<MountEntry> ParseMountinfo(std::string_view text) {
    std::vector<MountEntry> out;
    for (std::string_view line; NextLine(&text, &line);) {
        std::vector<std::string_view> f = Fields(line);
        // id parent major:minor root point options [optional...] - fstype source super
        auto dash = std::find(f.begin(), f.end(), "-");
        if (f.size() < 7 || dash == f.end() || dash + 1 == f.end()) continue;
        MountEntry m;
        m.id = std::atoi(std::string(f[0]).c_str());
        m.parent = std::atoi(std::string(f[1]).c_str());
        m.point = Unescape(f[4]);
        m.options = std::string(f[5]);
        m.fstype = std::string(*(dash + 1));
        out.push_back(m);
    }
    return out;
}

std::vector<std::string> UnmountOrder(const std::vector<MountEntry>& mounts, const std::vector<std::string>& keep) {
    // Depth in the mount tree, not in the path: a mount stacked on another
    // at the same point must come off first, and mountinfo lists mounts in
    // creation order, so later (stacked, child) mounts come later.
    std::vector<std::pair<int, size_t>> order;  // (depth, index)
    for (size_t i = 0; i < mounts.size(); ++i) {
        int depth = 0;
        int parent = mounts[i].parent;
        for (int guard = 0; guard < 256; ++guard) {
            auto it = std::find_if(mounts.begin(), mounts.end(), [&](const MountEntry& m) { return m.id == parent; });
            if (it == mounts.end() || it->id == it->parent) break;
            ++depth;
            parent = it->parent;
        }
        order.emplace_back(depth, i);
    }
    std::stable_sort(order.begin(), order.end(), [](auto& a, auto& b) {
        return a.first != b.first ? a.first > b.first : a.second > b.second;
    });
    std::vector<std::string> out;
    for (auto [depth, i] : order) {
        const std::string& p = mounts[i].point;
        if (p == "/" || std::find(keep.begin(), keep.end(), p) != keep.end()) continue;
        out.push_back(p);
    }
    return out;
}

bool IsKernelThreadStat(std::string_view stat) {
    // "pid (comm) state ppid ..." where comm may hold spaces and ')': the
    // fields after the last ')' are fixed. flags is field 9 overall, the 7th
    // after the state.
    size_t close = stat.rfind(')');
    // No substr past the end: it throws, and in PID 1 an exception is a panic.
    if (close == std::string_view::npos || close + 2 > stat.size()) return false;
    std::vector<std::string_view> f = Fields(stat.substr(close + 2));
    if (f.size() < 7) return false;
    unsigned long flags = std::strtoul(std::string(f[6]).c_str(), nullptr, 10);
    constexpr unsigned long kPfKthread = 0x00200000;
    return (flags & kPfKthread) != 0;
}

namespace {

// The live ruleset's digest and size. The dump is freed before it returns:
// at a million set elements it is most of the final stage's memory, which
// must never hold it beside the armed ruleset.
bool LiveDigest(std::string* digest, size_t* objects, uint32_t* generation, std::string* err) {
    NftRuleset live;
    if (!DumpRuleset(&live, err, generation, nullptr, DumpTables::kUnowned)) return false;
    *digest = RulesetDigest(live);  // without the guard's owned copy
    *objects = live.size();
    return true;
}

// Puts the armed ruleset back. Left in the manifest's file (the final
// stage's way), it is read only now, and freed once the batch is sent.
bool RestoreArmed(const Manifest& m, std::string* err) {
    if (m.ruleset_file.empty()) return RestoreRuleset(m.ruleset, err);
    NftRuleset armed;
    return ReadManifestRuleset(m, &armed, err) && RestoreRuleset(armed, err);
}

}  // namespace

Check VerifyRuleset(const Manifest& m, std::string* digest, uint32_t* generation, const RulesetStamp* proven,
                    bool read) {
    Check c{"ruleset"};
    std::string err;
    // Nothing committed since arm read it, or since the watcher last knew
    // it as armed: the ruleset is that one, and reading it would only take
    // time (seconds at a million elements).
    RulesetStamp now;
    if (!read && ReadRulesetStamp(&now, &err)) {
        const char* by = SameRuleset(m.armed_at, now)           ? "arm read it"
                         : proven && SameRuleset(*proven, now) ? "the watcher last proved it"
                                                               : nullptr;
        if (by) {
            *digest = m.digest;
            if (generation) *generation = now.generation;
            c.ok = true;
            c.detail = "digest " + m.digest + " as armed (generation " + std::to_string(now.generation) +
                       ", the one at which " + by + "; nothing committed since, so not read again)";
            return c;
        }
    }
    size_t objects = 0;
    if (!LiveDigest(digest, &objects, generation, &err)) {
        c.detail = "cannot read the ruleset: " + err;
        return c;
    }
    if (*digest == m.digest) {
        c.ok = true;
        c.detail = "digest " + *digest + " as armed (" + std::to_string(objects) + " objects)";
        return c;
    }
    // Something changed or flushed it on the way down: put the armed one
    // back. A unit still running may change it again right after the
    // restore's commit (seen in QEMU: three saboteurs at stop, the restore
    // in between two of them), so a restore that reads back different is
    // tried again, a few times, before it counts as failed.
    std::string was = *digest;
    constexpr int kRestoreAttempts = 4;
    for (int attempt = 1; attempt <= kRestoreAttempts; ++attempt) {
        if (!RestoreArmed(m, &err)) {
            c.detail = "digest " + was + " differs from the armed " + m.digest + "; restore failed: " + err;
            return c;
        }
        if (!LiveDigest(digest, &objects, generation, &err)) {
            c.detail = "restored, but cannot read it back: " + err;
            return c;
        }
        c.repaired = true;
        c.ok = *digest == m.digest;
        if (c.ok) break;
    }
    c.detail = "digest was " + was + ", restored from the manifest: now " + *digest +
               (c.ok ? " as armed" : ", STILL DIFFERENT after " + std::to_string(kRestoreAttempts) + " restores");
    return c;
}

namespace {

// A bridge's ports, each in it and up; for the invisible bridge, no
// address on it or a port (an IPv6 one goes with disable_ipv6, which
// VerifySysctls puts back; an IPv4 one someone added is removed).
void VerifyBridge(const ManifestLink& ml, const Link& br, const NetState& st, RtnlSocket* rtnl,
                  std::vector<std::string>* problems, std::vector<std::string>* repairs) {
    std::string err;
    std::vector<const Link*> silent;
    if (ml.silent) silent.push_back(&br);
    for (const std::string& name : ml.ports) {
        const Link* p = st.FindLink(name);
        if (!p) {
            problems->push_back(ml.name + " port " + name + " missing");
            continue;
        }
        if (p->master != br.index) {
            if (rtnl->SetMaster(p->index, br.index, &err)) repairs->push_back(ml.name + " port " + name + " put back");
            else problems->push_back(ml.name + " port " + name + " not in it: " + err);
        }
        if (!p->up()) {
            if (rtnl->SetLinkUp(p->index, true, &err)) repairs->push_back(ml.name + " port " + name + " set up");
            else problems->push_back(ml.name + " port " + name + " down: " + err);
        }
        if (ml.silent) silent.push_back(p);
    }
    // A port nobody armed (a tap or veth a unit attached after arm): the
    // halted box would bridge a link it was never configured for.
    for (const Link& l : st.links) {
        if (l.master != br.index || std::find(ml.ports.begin(), ml.ports.end(), l.name) != ml.ports.end()) continue;
        if (rtnl->SetMaster(l.index, 0, &err))
            repairs->push_back(ml.name + " port " + l.name + " released (not armed)");
        else
            problems->push_back(ml.name + " has port " + l.name + ", not armed: " + err);
    }
    for (const Link* l : silent)
        for (const Address& a : st.addresses) {
            if (a.ifindex != l->index) continue;
            if (rtnl->DelAddress(l->index, a.prefix, &err))
                repairs->push_back(l->name + " " + FormatPrefix(a.prefix) + " removed (a silent bridge)");
            else problems->push_back(l->name + " holds " + FormatPrefix(a.prefix) + ": " + err);
        }
}

// Why live link `l` is not the device `ml` records; "" when it is.
std::string NotAsArmed(const ManifestLink& ml, const Link& l, const NetState& st) {
    const std::string kind = l.kind.empty() ? "device of no kind" : l.kind + " device";
    if (ml.bridge) return l.kind == "bridge" ? "" : "a " + kind;
    if (l.kind != "vlan") return "a " + kind;
    const Link* parent = st.FindLinkByIndex(l.parent);
    if (l.vlan_id != ml.vlan_id || !parent || parent->name != ml.vlan_parent)
        return "VLAN " + std::to_string(l.vlan_id) + " on " + (parent ? parent->name : "an unknown link");
    return "";
}

std::string BridgeOptionsText(const Link::BridgeOptions& o) {
    return "STP " + std::string(o.stp_state ? "on" : "off") + ", ageing " + std::to_string(o.ageing_centis / 100) +
           " s, multicast snooping " + (o.mcast_snooping ? "on" : "off");
}

}  // namespace

DeviceRepairs RemakeDevices(const Manifest& m) {
    DeviceRepairs d;
    std::string err;
    std::unique_ptr<RtnlSocket> rtnl = RtnlSocket::Open(&err);
    NetState st;
    if (!rtnl || !rtnl->Dump(&st, &err)) {
        d.problems.push_back("cannot read the bridges and VLANs: " + err);
        d.changed = true;  // nothing known: read the ruleset whole
        return d;
    }
    auto redump = [&] {
        if (rtnl->Dump(&st, &err)) return true;
        d.problems.push_back("cannot read the links again: " + err);
        return false;
    };
    // A link made again since arm, by anyone, under its name and kind: its
    // hooks in the ruleset went with the old one, with no new generation.
    for (const ManifestLink& ml : m.links)
        if (const Link* l = st.FindLink(ml.name); l && ml.ifindex && l->index != ml.ifindex) {
            d.changed = true;
            d.notes.push_back(ml.name + " is not the device armed (index " + std::to_string(l->index) + ", was " +
                              std::to_string(ml.ifindex) + "): the ruleset read whole");
        }
    // First what is there but not as armed: deleted (a VLAN on it goes too,
    // and is made again below), or a bridge's options set back.
    std::vector<const ManifestLink*> wanted;
    for (const ManifestLink& ml : m.links) {
        if (!ml.bridge && ml.vlan_parent.empty()) continue;
        wanted.push_back(&ml);
        const Link* l = st.FindLink(ml.name);
        if (!l) continue;
        if (const std::string other = NotAsArmed(ml, *l, st); !other.empty()) {
            if (!rtnl->DeleteLink(l->index, &err)) {
                d.problems.push_back(ml.name + " is " + other + ", and cannot be deleted: " + err);
                continue;
            }
            d.changed = true;
            d.repairs.push_back(ml.name + " (" + other + ") deleted");
            if (!redump()) return d;
        } else if (ml.bridge && l->bridge && *l->bridge != *ml.bridge) {
            if (rtnl->SetBridgeOptions(l->index, *ml.bridge, &err))
                d.repairs.push_back(ml.name + " " + BridgeOptionsText(*ml.bridge) + " (was " +
                                    BridgeOptionsText(*l->bridge) + ")");
            else d.problems.push_back(ml.name + " has " + BridgeOptionsText(*l->bridge) + ": " + err);
        }
    }
    // Then what is missing, parents first: a pass makes each one whose
    // parent exists, until a pass makes none.
    std::vector<const ManifestLink*> missing;
    for (const ManifestLink* ml : wanted)
        if (!st.FindLink(ml->name)) missing.push_back(ml);
    for (bool made_one = true; made_one && !missing.empty();) {
        made_one = false;
        for (auto it = missing.begin(); it != missing.end();) {
            const ManifestLink& ml = **it;
            const Link* parent = ml.bridge ? nullptr : st.FindLink(ml.vlan_parent);
            if (!ml.bridge && !parent) {
                ++it;
                continue;
            }
            // Made down, with no port and no address; VerifyLinks does the rest.
            bool made = ml.bridge ? rtnl->CreateBridge(ml.name, *ml.bridge, &err)
                                  : rtnl->CreateVlan(ml.name, parent->index, ml.vlan_id, &err);
            it = missing.erase(it);
            if (!made) {
                d.problems.push_back(ml.name + " missing, and cannot be made again: " + err);
                continue;
            }
            d.changed = made_one = true;
            if (!redump()) return d;
            // Its sysctls before it is ever up: an IPv6 link-local address,
            // and the frames that come with it, would give the silent bridge
            // away. One that cannot have them goes again, never up.
            std::string failed;
            for (const auto& [key, value] : m.sysctls)
                if (SysctlKeyDevice(key) == ml.name && !WriteSysctl(key, value, &err)) failed += "; " + key + ": " + err;
            if (!failed.empty()) {
                const Link* l = st.FindLink(ml.name);
                if (l && rtnl->DeleteLink(l->index, &err) && !redump()) return d;
                d.problems.push_back(ml.name + " made again, but its sysctls failed, so it is not kept" + failed);
                continue;
            }
            d.repairs.push_back(ml.name + " recreated" + (ml.bridge ? "" : " as VLAN " + std::to_string(ml.vlan_id) +
                                                                              " on " + ml.vlan_parent));
        }
    }
    for (const ManifestLink* ml : missing)
        d.problems.push_back(ml->name + " missing, and cannot be made again: its parent " + ml->vlan_parent +
                             " is missing");
    return d;
}

Check VerifyLinks(const Manifest& m, int* addresses, const DeviceRepairs& devices) {
    Check c{"links"};
    std::string err;
    std::unique_ptr<RtnlSocket> rtnl = RtnlSocket::Open(&err);
    NetState st;
    if (!rtnl || !rtnl->Dump(&st, &err)) {
        c.detail = "cannot read links: " + err;
        return c;
    }
    *addresses = 0;
    std::vector<std::string> problems = devices.problems, repairs = devices.repairs;
    for (const ManifestLink& ml : m.links) {
        const Link* l = st.FindLink(ml.name);
        if (!l) {
            // RemakeDevices said why already.
            const std::string said = ml.name + " missing, and cannot be made again: ";
            if (std::none_of(devices.problems.begin(), devices.problems.end(),
                             [&](const std::string& p) { return p.rfind(said, 0) == 0; }))
                problems.push_back(ml.name + " missing");
            continue;
        }
        if (!l->up()) {
            if (rtnl->SetLinkUp(l->index, true, &err)) repairs.push_back(ml.name + " set up");
            else problems.push_back(ml.name + " down: " + err);
        }
        // A device made again (WireGuard's) comes with its kind's MTU.
        if (ml.mtu && l->mtu != ml.mtu) {
            if (rtnl->SetLinkMtu(l->index, ml.mtu, &err))
                repairs.push_back(ml.name + " mtu " + std::to_string(ml.mtu) + " (was " + std::to_string(l->mtu) + ")");
            else problems.push_back(ml.name + " mtu " + std::to_string(l->mtu) + ", not " + std::to_string(ml.mtu) + ": " + err);
        }
        for (const Prefix& p : ml.addresses) {
            bool have = std::any_of(st.addresses.begin(), st.addresses.end(),
                                    [&](const Address& a) { return a.ifindex == l->index && a.prefix == p; });
            if (!have) {
                if (rtnl->AddAddress(l->index, p, true, &err))
                    repairs.push_back(ml.name + " " + FormatPrefix(p) + " added");
                else {
                    problems.push_back(ml.name + " " + FormatPrefix(p) + " missing: " + err);
                    continue;
                }
            }
            ++*addresses;
        }
        for (const ManifestRoute& mr : ml.routes) {
            Route want = StaticRoute(mr.dst, mr.via, l->index, mr.metric);
            bool have = std::any_of(st.routes.begin(), st.routes.end(),
                                    [&](const Route& r) { return SameStaticRoute(want, r); });
            if (have) continue;
            std::string what = "route " + FormatPrefix(mr.dst) + (mr.via ? " via " + FormatIp(*mr.via) : "");
            if (rtnl->ReplaceRoute(want, &err)) repairs.push_back(ml.name + " " + what + " added");
            else problems.push_back(ml.name + " " + what + " missing: " + err);
        }
        VerifyBridge(ml, *l, st, rtnl.get(), &problems, &repairs);
    }
    c.ok = problems.empty();
    c.repaired = !repairs.empty();
    std::string d = std::to_string(m.links.size()) + " up with " + std::to_string(*addresses) + " addresses";
    // A bridge's ports are not links of their own in the manifest: named.
    for (const ManifestLink& ml : m.links) {
        if (ml.ports.empty()) continue;
        d += "; " + ml.name + " bridges";
        for (const std::string& p : ml.ports) d += " " + p;
        if (ml.silent) d += ", silent";
    }
    for (const std::string& n : devices.notes) d += "; " + n;
    for (const std::string& r : repairs) d += "; repaired: " + r;
    for (const std::string& p : problems) d += "; FAILED: " + p;
    c.detail = d;
    return c;
}

Check VerifyWireguard(const Manifest& m) {
    Check c{"wireguard"};
    std::string err;
    std::unique_ptr<RtnlSocket> rtnl = RtnlSocket::Open(&err);
    std::unique_ptr<WgSocket> wg = rtnl ? WgSocket::Open(&err) : nullptr;
    NetState st;
    if (!rtnl || !wg || !rtnl->Dump(&st, &err)) {
        c.detail = "cannot read the WireGuard devices: " + err;
        return c;
    }
    std::vector<std::string> devices, problems, repairs;
    auto join = [](const std::vector<std::string>& v) {
        std::string s;
        for (const std::string& x : v) s += (s.empty() ? "" : "; ") + x;
        return s;
    };
    for (const WgDevice& want : m.wireguard) {
        const size_t n = want.peers.size();
        devices.push_back(want.name + " with " + std::to_string(n) + (n == 1 ? " peer" : " peers"));
        const Link* l = st.FindLink(want.name);
        if (l && l->kind != "wireguard") {
            // Something else under its name: the armed device goes there.
            const std::string kind = l->kind.empty() ? "device of no kind" : l->kind + " device";
            if (!rtnl->DeleteLink(l->index, &err)) {
                problems.push_back(want.name + " is a " + kind + ", and cannot be deleted: " + err);
                continue;
            }
            repairs.push_back(want.name + " (a " + kind + ") deleted");
            l = nullptr;
        }
        WgDevice have;
        if (!l) {
            if (!rtnl->CreateWireguard(want.name, &err) || !wg->SetDevice(want, &err)) {
                problems.push_back(want.name + " missing, and cannot be made again: " + err);
                continue;
            }
            repairs.push_back(want.name + " recreated");
        } else if (!wg->GetDevice(want.name, &have, &err)) {
            problems.push_back(want.name + " cannot be read: " + err);
            continue;
        } else if (std::vector<std::string> diffs = WgDeviceDifferences(want, have, {}, false); !diffs.empty()) {
            if (!wg->SetDevice(KeepLearned(want, have), &err)) {
                problems.push_back(want.name + " differs (" + join(diffs) + "), and cannot be set back: " + err);
                continue;
            }
            repairs.push_back(want.name + " set back (" + join(diffs) + ")");
        } else {
            continue;
        }
        WgDevice now;
        if (!wg->GetDevice(want.name, &now, &err)) problems.push_back(want.name + " cannot be read back: " + err);
        else if (std::vector<std::string> diffs = WgDeviceDifferences(want, now, {}, false); !diffs.empty())
            problems.push_back(want.name + " STILL DIFFERS (" + join(diffs) + ")");
    }
    c.ok = problems.empty();
    c.repaired = !repairs.empty();
    std::string d;
    for (const std::string& x : devices) d += (d.empty() ? "" : ", ") + x;
    if (c.ok) d += " as armed";
    for (const std::string& r : repairs) d += "; repaired: " + r;
    for (const std::string& p : problems) d += "; FAILED: " + p;
    c.detail = d;
    return c;
}

Check VerifySysctls(const Manifest& m) {
    Check c{"sysctls"};
    std::vector<std::string> problems, repairs;
    for (const auto& [key, want] : m.sysctls) {
        std::string now;
        std::string err;
        // ParseManifest refused any other key already; this is the same
        // rule once more, at the write, for a Manifest made some other way.
        if (!CheckSysctlKey(key, &err)) {
            problems.push_back("key " + QuoteValue(key) + " refused: " + err);
            continue;
        }
        // As the kernel prints: an armed "01" is the kernel's "1".
        if (ReadSysctl(key, &now, &err) && SysctlValuesEqual(now, want)) continue;
        if (WriteSysctl(key, want, &err) && ReadSysctl(key, &now, &err) && SysctlValuesEqual(now, want))
            repairs.push_back(key + "=" + want);
        else problems.push_back(key + " is '" + now + "', not '" + want + "'");
    }
    c.ok = problems.empty();
    c.repaired = !repairs.empty();
    c.detail = std::to_string(m.sysctls.size()) + " as armed";
    for (const std::string& r : repairs) c.detail += "; repaired: " + r;
    for (const std::string& p : problems) c.detail += "; FAILED: " + p;
    return c;
}

std::string PanicLine(std::string_view panic, std::string_view on_oops, std::string_view err) {
    if (!err.empty()) return "unknown (" + std::string(err) + ")";
    std::string_view digits = panic.starts_with('-') ? panic.substr(1) : panic;
    if (digits.empty() || digits.size() > 9 || digits.find_first_not_of("0123456789") != std::string_view::npos)
        return "unknown (kernel.panic reads " + QuoteValue(panic) + ")";
    long n = std::strtol(std::string(panic).c_str(), nullptr, 10);
    if (n == 0) return "the box stays down after a kernel panic (kernel.panic = 0: no panic-reboot)";
    std::string settings = "(kernel.panic = " + std::to_string(n) + ", kernel.panic_on_oops = " +
                           (on_oops.empty() ? std::string("?") : std::string(on_oops)) + ")";
    if (n < 0) return "reboot at once after a kernel panic " + settings;
    return "reboot " + std::to_string(n) + " s after a kernel panic " + settings;
}

std::vector<std::string> ForwardingOff(const Manifest& m, std::vector<std::string>* down) {
    std::vector<std::string> failed;
    for (const char* k : kForwardingSysctls) {
        std::string v;
        std::string err;
        if (!WriteSysctl(k, "0", &err) || !ReadSysctl(k, &v, &err) || v != "0") failed.push_back(k);
    }
    std::string err;
    std::unique_ptr<RtnlSocket> rtnl = RtnlSocket::Open(&err);
    NetState st;
    bool read = rtnl && rtnl->Dump(&st, &err);
    for (const ManifestLink& ml : m.links) {
        if (!ml.bridge && ml.ports.empty()) continue;
        if (!read) {
            failed.push_back(ml.name + " (" + err + ")");
            continue;
        }
        const Link* l = st.FindLink(ml.name);
        if (!l) continue;  // no bridge, nothing bridged
        if (rtnl->SetLinkUp(l->index, false, &err)) down->push_back(ml.name);
        else failed.push_back(ml.name + " (" + err + ")");
    }
    return failed;
}

}  // namespace haltfw
