#include "readiness.h"

#include <linux/netfilter/nf_tables.h>
#include <sys/socket.h>

#include "nft_digest.h"

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
            r->blockers.push_back("interface " + c.Describe() + ": the device does not exist");
            continue;
        }
        std::string where = "interface '" + c.role + "' (" + ri.link->name + ")";
        for (const Address& a : in.state->addresses) {
            if (a.ifindex != ri.link->index) continue;
            bool mine = Configured(c, a.prefix);
            if (a.finite()) {
                r->blockers.push_back(where + ": address " + FormatPrefix(a.prefix) + " has a finite lifetime (valid " +
                                      std::to_string(a.valid_lft) + " s): a DHCP or router-advertisement lease expires once userspace is gone" +
                                      (mine ? "; 'haltfw apply' makes it static, but whatever set the lifetime must stop managing this interface" : ""));
            } else if (!mine && !IsLinkLocal6(a.prefix)) {
                r->warnings.push_back(where + ": address " + FormatPrefix(a.prefix) + " is not in the config; it stays as it is");
            }
        }
    }
}

void CheckRuleset(const ReadinessInputs& in, Readiness* r) {
    if (!in.ruleset) {
        r->warnings.push_back("the ruleset's statements could not be examined: " + in.ruleset_note);
    } else {
        for (const NftObject& o : in.ruleset->objects) {
            for (const std::string& st : o.daemon_statements)
                r->blockers.push_back("ruleset: chain " + NftFamilyName(o.family) + " " + o.table + " " + o.name + " uses '" + st +
                                      "', which needs a userspace daemon");
        }
    }
    // Owned tables vanish when the owner's socket closes, which it will at
    // the halt (firewalld 2.x creates them by default).
    for (const NftRuleset* rs : {in.ruleset, in.live}) {
        if (!rs) continue;
        for (const NftObject& o : rs->objects) {
            if (o.kind == NftKind::kTable && (o.flags & NFT_TABLE_F_OWNER))
                r->blockers.push_back("ruleset: table " + NftFamilyName(o.family) + " " + o.name +
                                      " is owned by a process (flag 'owner') and vanishes when that process exits");
        }
        if (rs == in.live && in.live == in.ruleset) break;
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
        r->warnings.push_back("IPv6 is configured without a static gateway6: haltfw turns router advertisements off (accept_ra = 0), so IPv6 beyond the local links needs gateway6");
    bool forwarding = false;
    for (const SysctlSetting& s : cfg.sysctls)
        if ((s.key == "net.ipv4.ip_forward" || s.key == "net.ipv4.conf.all.forwarding" || s.key == "net.ipv6.conf.all.forwarding") &&
            s.value == "1")
            forwarding = true;
    if (!forwarding)
        r->warnings.push_back("no [sysctl] turns forwarding on (net.ipv4.ip_forward = 1): the halted box will route nothing");
    if (in.firewalld_installed)
        r->warnings.push_back("firewalld is installed: it replaces the ruleset when it starts and flushes it when it stops (CleanupOnExit)");
    if (in.networkmanager_installed)
        r->warnings.push_back("NetworkManager is installed: it may change addresses haltfw configured, and takes down Wi-Fi and shared connections at shutdown");
}

}  // namespace

Readiness AssessReadiness(const ReadinessInputs& in) {
    Readiness r;
    CheckInterfaces(in, &r);
    CheckRuleset(in, &r);
    CheckEnvironment(in, &r);
    return r;
}

}  // namespace haltfw
