#include "core/longevity.h"

#include <linux/if_addr.h>
#include <linux/netfilter/nf_tables.h>
#include <sys/socket.h>

#include <algorithm>
#include <cstdlib>
#include <map>
#include <tuple>
#include <vector>

#include "nft/nft_attrs.h"
#include "nft/nft_digest.h"

namespace haltfw {
namespace {

// A sysctl as the armed box has it: what [sysctl] sets (apply writes it),
// else what it is now, with which of the two it is in *source. False when
// neither says (no such key: no IPv6, conntrack not loaded).
bool Armed(const ReadinessInputs& in, const std::string& key, std::string* value, std::string* source) {
    for (const SysctlSetting& s : in.config->sysctls) {
        if (s.key != key) continue;
        *value = s.value;
        *source = "as [sysctl] sets it";
        return true;
    }
    if (!in.read_sysctl || !in.read_sysctl(key, value)) return false;
    while (!value->empty() && (value->back() == '\n' || value->back() == ' ')) value->pop_back();
    *source = "as it is now; [sysctl] does not set it";
    return true;
}

// The number a sysctl holds as the armed box has it, or `fallback`.
long ArmedNumber(const ReadinessInputs& in, const std::string& key, long fallback) {
    std::string v, source;
    return Armed(in, key, &v, &source) ? std::strtol(v.c_str(), nullptr, 10) : fallback;
}

std::string Plural(size_t n, const std::string& one, const std::string& many) { return n == 1 ? one : many; }

std::string JoinList(const std::vector<std::string>& items) {
    std::string out;
    for (const std::string& s : items) out += (out.empty() ? "" : ", ") + s;
    return out;
}

// ---- IPv6 temporary addresses ----
//
// What the kernel does (net/ipv6/addrconf.c; seen on 6.18 with a veth and
// no router): a temporary address is made beside an address that SLAAC
// made from a router advertisement (addrconf_prefix_rcv_add_addr) or one
// added with the flag mngtmpaddr (inet6_addr_add -> manage_tempaddrs),
// and only while use_tempaddr > 0. addrconf_verify_rtnl, a kernel work
// item, makes the next one regen_advance seconds before the current one's
// preferred lifetime (temp_prefered_lft less a random desync of up to
// max_desync_factor) ends, and deletes each when its valid lifetime
// (temp_valid_lft) ends: no userspace, no advertisement needed for the
// mngtmpaddr kind. Source address selection prefers the newest one for
// the box's own traffic with use_tempaddr >= 2 (RFC 6724 rule 7).

// The sysctl(8) form of a device name in a key ("eth0.10" -> "eth0/10").
std::string SysctlDevice(const std::string& name) {
    std::string dev;
    for (char c : name) dev += c == '.' ? '/' : c;
    return dev;
}

// What is said of the temporary addresses there now where no new ones
// come: they go when their valid lifetime runs out.
std::string PresentTemporaries(const std::vector<const Address*>& temps) {
    if (temps.empty()) return "";
    uint32_t longest = 0;
    for (const Address* a : temps) longest = std::max(longest, a->valid_lft);
    return "; the " + std::to_string(temps.size()) +
           Plural(temps.size(), " temporary address", " temporary addresses") + " there now " +
           Plural(temps.size(), "goes", "go") + " when " + Plural(temps.size(), "its", "their") +
           " valid lifetime runs out, within " + std::to_string(longest) + " s";
}

void CheckTemporaryAddressesOf(const ReadinessInputs& in, const ResolvedInterface& ri, Readiness* r) {
    const std::string conf = "net.ipv6.conf." + SysctlDevice(ri.link->name) + ".";
    std::string use, source;
    if (!Armed(in, conf + "use_tempaddr", &use, &source)) return;  // no IPv6 on it
    const long level = std::strtol(use.c_str(), nullptr, 10);
    const std::string where = "interface '" + ri.config->role + "' (" + ri.link->name + "): ";
    const std::string setting = conf + "use_tempaddr = " + use + " (" + source + ")";
    std::vector<const Address*> temps;
    std::vector<std::string> managed;
    for (const Address& a : in.state->addresses) {
        if (a.ifindex != ri.link->index || a.prefix.addr.family != AF_INET6) continue;
        if (IsTemporaryAddress(a)) temps.push_back(&a);
        else if (a.flags & IFA_F_MANAGETEMPADDR) managed.push_back(FormatPrefix(a.prefix));
    }
    if (level <= 0) {
        r->fine.push_back(where + setting + ": the kernel makes no temporary (privacy) addresses" +
                          PresentTemporaries(temps));
        return;
    }
    const bool advertised = ArmedNumber(in, conf + "accept_ra", 0) > 0 && ArmedNumber(in, conf + "autoconf", 0) > 0;
    if (managed.empty() && !advertised) {
        r->fine.push_back(where + setting +
                          ", but the kernel makes temporary (privacy) addresses only from an address with the flag "
                          "mngtmpaddr or from a prefix a router advertises, and it has neither (router "
                          "advertisements off: accept_ra or autoconf = 0): none is made" +
                          PresentTemporaries(temps));
        return;
    }
    const std::string rotation =
        "a new one about every " + std::to_string(ArmedNumber(in, conf + "temp_prefered_lft", 86400)) +
        " s (temp_prefered_lft, less up to " + std::to_string(ArmedNumber(in, conf + "max_desync_factor", 600)) +
        " s of max_desync_factor), each deleted " + std::to_string(ArmedNumber(in, conf + "temp_valid_lft", 604800)) +
        " s after it is made (temp_valid_lft)";
    const std::string own =
        level >= 2 ? "the box's own IPv6 traffic takes its source address from the newest (forwarded traffic is not "
                     "touched)"
                   : "the box's own IPv6 traffic keeps its other address as source (use_tempaddr = 1), and forwarded "
                     "traffic is not touched";
    const std::string fix = conf + "use_tempaddr = 0 in [sysctl] stops it";
    if (!managed.empty())
        r->warnings.push_back(where + setting + " and " + Plural(managed.size(), "address ", "addresses ") +
                              JoinList(managed) + Plural(managed.size(), " has", " have") +
                              " the flag mngtmpaddr: the kernel itself makes temporary (privacy) addresses from " +
                              Plural(managed.size(), "it", "them") +
                              ", with no userspace and no router advertisement, and goes on doing so in the halted "
                              "box: " +
                              rotation + "; " + own + "; " + fix);
    if (advertised)
        r->warnings.push_back(where + setting + " and router advertisements are on (" + conf + "accept_ra and " +
                              conf +
                              "autoconf > 0): the kernel itself makes a temporary (privacy) address beside each "
                              "address it configures from an advertised prefix (SLAAC), " +
                              rotation +
                              ", and they last only as long as a router goes on advertising the prefix; " + own + "; " +
                              fix);
}

// ---- sets the packet path fills ----
//
// nft_dynset.c (6.1 and 6.18): a set that a rule's dynset ('add @s',
// 'update @s', a meter) binds gets size 0xffff from nft_dynset_init when
// the ruleset gives none, and the kernel dumps that as the set's
// NFTA_SET_DESC_SIZE ('size 65535' in nft list; an explicit 'size 65535'
// reads the same). nft_dynset_new refuses a new element once nelems has
// reached the size; nft_dynset_eval then sets NFT_BREAK: the rest of that
// rule is skipped, the rule does not match, and the packet goes on to the
// next rule. Elements already in the set still match and update. Expired
// elements are freed by the set's garbage collection (every second for a
// hash set), so a set with timeouts fills only with live elements.

constexpr uint32_t kKernelDynsetSize = 0xffff;

uint64_t AttrBe64(std::string_view v) {
    uint64_t x = 0;
    if (v.size() < 8) return 0;
    for (int i = 0; i < 8; ++i) x = (x << 8) | static_cast<uint8_t>(v[i]);
    return x;
}

struct SetFacts {
    uint32_t flags = 0;
    uint64_t timeout_ms = 0;  ///< The set's default timeout; 0 for none.
    uint32_t size = 0;        ///< NFTA_SET_DESC_SIZE; 0 for none.
};

SetFacts ReadSet(std::string_view payload) {
    SetFacts f;
    std::string_view v, desc;
    if (FindAttr(payload, NFTA_SET_FLAGS, &v)) f.flags = AttrBe32(v);
    if (FindAttr(payload, NFTA_SET_TIMEOUT, &v)) f.timeout_ms = AttrBe64(v);
    if (FindAttr(payload, NFTA_SET_DESC, &desc) && FindAttr(desc, NFTA_SET_DESC_SIZE, &v)) f.size = AttrBe32(v);
    return f;
}

using SetKey = std::tuple<uint8_t, std::string, std::string>;  // family, table, set

// What the rules that add to one set do.
struct Filling {
    std::vector<std::string> statements;  ///< "'add @s'", "'update @s'", each once.
    std::vector<std::string> chains;      ///< "inet t forward", each once.
    std::vector<uint64_t> timeouts_ms;    ///< Each adding rule's own timeout (0: the set's).
};

void AddOnce(std::vector<std::string>* v, const std::string& s) {
    if (std::find(v->begin(), v->end(), s) == v->end()) v->push_back(s);
}

std::map<SetKey, Filling> FillingRules(const NftRuleset& rs) {
    std::map<SetKey, Filling> out;
    for (const NftObject& o : rs.objects) {
        std::string_view exprs;
        if (o.kind != NftKind::kRule || !FindAttr(o.payload, NFTA_RULE_EXPRESSIONS, &exprs)) continue;
        ForEachAttr(exprs, [&](uint16_t, std::string_view e) {
            std::string_view name, data, set, op, timeout;
            if (!FindAttr(e, NFTA_EXPR_NAME, &name) || AttrString(name) != "dynset" ||
                !FindAttr(e, NFTA_EXPR_DATA, &data) || !FindAttr(data, NFTA_DYNSET_SET_NAME, &set) ||
                !FindAttr(data, NFTA_DYNSET_OP, &op) || AttrBe32(op) == NFT_DYNSET_OP_DELETE)
                return;
            Filling& f = out[{o.family, o.table, AttrString(set)}];
            AddOnce(&f.statements, std::string(AttrBe32(op) == NFT_DYNSET_OP_UPDATE ? "'update @" : "'add @") +
                                       AttrString(set) + "'");
            AddOnce(&f.chains, NftFamilyName(o.family) + " " + o.table + " " + o.name);
            f.timeouts_ms.push_back(FindAttr(data, NFTA_DYNSET_TIMEOUT, &timeout) ? AttrBe64(timeout) : 0);
        });
    }
    return out;
}

// ---- expiring elements ----

// Whether an element the ruleset loads expires, and after how long. The
// kernel (6.18) dumps NFTA_SET_ELEM_TIMEOUT only where it differs from the
// set's default timeout, and a timeout of 0 on an interval's end element.
bool ElementExpires(std::string_view elem, const SetFacts& set, uint64_t* ms) {
    std::string_view v;
    if (FindAttr(elem, NFTA_SET_ELEM_FLAGS, &v) && (AttrBe32(v) & NFT_SET_ELEM_INTERVAL_END)) return false;
    *ms = FindAttr(elem, NFTA_SET_ELEM_TIMEOUT, &v)      ? AttrBe64(v)
          : (set.flags & NFT_SET_TIMEOUT) != 0 ? set.timeout_ms
                                               : 0;
    return *ms > 0;
}

// ---- conntrack ----
//
// A TCP connection that ends unseen (a host that goes away with no FIN or
// RST, a NAT mapping dropped elsewhere) stays in the table as established
// for nf_conntrack_tcp_timeout_established (432000 s, 5 days, by default).
// At a steady rate of such connections the table holds rate x timeout of
// them (Little's law), so it fills at max / timeout a second. A full table
// (nf_conntrack_core.c, __nf_conntrack_alloc) first evicts an entry not
// yet assured from the new one's hash chain (early_drop); finding none it
// logs "nf_conntrack: table full, dropping packet" and nf_conntrack_in
// drops the packet: new connections fail, established ones go on. The
// floor, a judgement: a table that one such connection every 6 s fills is
// too small for months with no one to flush it. Kernel defaults pass on a
// box of more than 4 GiB (262144 entries: 36 a minute), not on a smaller
// one (65536 entries from 1 GiB, fewer below: 9 a minute or less).
constexpr long kUnseenPerMinuteFloor = 10;

}  // namespace

bool IsTemporaryAddress(const Address& a) {
    return a.prefix.addr.family == AF_INET6 && (a.flags & IFA_F_TEMPORARY);
}

std::string FormatTimeoutMs(uint64_t ms) {
    static const std::pair<uint64_t, const char*> kUnits[] = {
        {86400000, "d"}, {3600000, "h"}, {60000, "m"}, {1000, "s"}, {1, "ms"}};
    if (ms == 0) return "0s";
    std::string out;
    for (const auto& [unit, name] : kUnits) {
        if (ms < unit) continue;
        out += std::to_string(ms / unit) + name;
        ms %= unit;
    }
    return out;
}

void CheckTemporaryAddresses(const ReadinessInputs& in, Readiness* r) {
    for (const ResolvedInterface& ri : *in.interfaces)
        if (ri.link) CheckTemporaryAddressesOf(in, ri, r);
    // WireGuard: not configured by haltfw yet. When it is, a peer whose
    // endpoint was given by name belongs here: only userspace (wg, wg-quick)
    // resolves names; the kernel keeps the address it was handed, and a
    // peer that moves is lost to the halted box (unless it roams to us).
}

void CheckFillingSets(const NftRuleset& rs, Readiness* r) {
    const std::map<SetKey, Filling> filling = FillingRules(rs);
    for (const NftObject& o : rs.objects) {
        if (o.kind != NftKind::kSet) continue;
        auto it = filling.find({o.family, o.table, o.name});
        if (it == filling.end()) continue;
        const Filling& f = it->second;
        const SetFacts set = ReadSet(o.payload);
        const uint32_t size = set.size ? set.size : kKernelDynsetSize;
        // Elements a rule adds expire if the set takes timeouts and the
        // rule or the set gives one (nft_dynset_init).
        bool expire = (set.flags & NFT_SET_TIMEOUT) != 0;
        uint64_t longest = 0;
        for (uint64_t t : f.timeouts_ms) {
            expire &= (t ? t : set.timeout_ms) > 0;
            longest = std::max(longest, t ? t : set.timeout_ms);
        }
        const std::string what = std::string(set.flags & NFT_SET_MAP ? "map " : "set ") + NftFamilyName(o.family) +
                                 " " + o.table + " " + o.name;
        const std::string by = JoinList(f.statements) + Plural(f.chains.size(), " in chain ", " in chains ") +
                               JoinList(f.chains);
        const std::string full =
            "a packet that would add a new element then adds none, and the rule it is in stops there, unmatched "
            "(the packet goes on to the next rule)";
        const std::string leave = expire ? "elements leave only when their timeout (" + FormatTimeoutMs(longest) +
                                               (f.timeouts_ms.size() > 1 ? " at the longest" : "") + ") runs out"
                                         : "its elements have no timeout, so once full it stays full for as long as "
                                           "the box stays halted";
        if (size == kKernelDynsetSize)
            r->warnings.push_back("ruleset: " + what + " is filled by the packet path (" + by +
                                  ") and holds at most 65535 elements, the size the kernel gives such a set when the "
                                  "ruleset gives none: once it holds that many, " +
                                  full + "; " + leave + "; give it a 'size' fit for the load" +
                                  (expire ? "" : ", and a 'timeout'"));
        else if (!expire)
            r->warnings.push_back("ruleset: " + what + " is filled by the packet path (" + by +
                                  ") and its elements have no timeout: once it holds " + std::to_string(size) +
                                  " elements (its size) it stays full for as long as the box stays halted, and " +
                                  full);
        else
            r->fine.push_back("ruleset: " + what + ", filled by the packet path (" + by + "), holds at most " +
                              std::to_string(size) + " elements (its size), each until its timeout (" +
                              FormatTimeoutMs(longest) + ") runs out");
    }
}

void CheckExpiringElements(const NftRuleset& rs, Readiness* r) {
    std::map<SetKey, const NftObject*> sets;
    for (const NftObject& o : rs.objects)
        if (o.kind == NftKind::kSet) sets[{o.family, o.table, o.name}] = &o;
    for (const NftElements& g : rs.elements) {
        auto it = sets.find({g.family, g.table, g.set});
        if (it == sets.end()) continue;
        const SetFacts set = ReadSet(it->second->payload);
        size_t expiring = 0, ends = 0;
        uint64_t longest = 0;
        for (size_t i = 0; i < g.size(); ++i) {
            std::string_view v;
            if (FindAttr(g[i], NFTA_SET_ELEM_FLAGS, &v) && (AttrBe32(v) & NFT_SET_ELEM_INTERVAL_END)) ++ends;
            uint64_t ms = 0;
            if (!ElementExpires(g[i], set, &ms)) continue;
            ++expiring;
            longest = std::max(longest, ms);
        }
        if (expiring == 0) continue;
        const std::string what = std::string(set.flags & NFT_SET_MAP ? "map " : "set ") + NftFamilyName(g.family) +
                                 " " + g.table + " " + g.set;
        r->warnings.push_back("ruleset: " + what + ": " + std::to_string(expiring) + " of its " +
                              std::to_string(g.size() - ends) + Plural(g.size() - ends, " element", " elements") +
                              Plural(expiring, " has", " have") + " a timeout (the longest " +
                              FormatTimeoutMs(longest) +
                              "): the kernel deletes each when it runs out, and in the halted box nothing loads it "
                              "again, so the rules that match the set stop matching it");
    }
}

void CheckConntrackFill(const ReadinessInputs& in, Readiness* r) {
    std::string max_v, max_from, est_v, est_from;
    if (!Armed(in, "net.netfilter.nf_conntrack_max", &max_v, &max_from) ||
        !Armed(in, "net.netfilter.nf_conntrack_tcp_timeout_established", &est_v, &est_from))
        return;  // conntrack is not loaded: nothing of the ruleset uses it
    const long max = std::strtol(max_v.c_str(), nullptr, 10);
    const long established = std::strtol(est_v.c_str(), nullptr, 10);
    if (max <= 0 || established <= 0) return;  // 0: no limit
    const long per_minute = max * 60 / established;
    const std::string figures =
        std::to_string(max) + " connections (net.netfilter.nf_conntrack_max, " + max_from +
        "), and a TCP connection that ends unseen (a host gone without FIN or RST) stays in it " + est_v +
        " s (net.netfilter.nf_conntrack_tcp_timeout_established, " + est_from + "): " + std::to_string(per_minute) +
        Plural(per_minute, " such connection", " such connections") + " a minute would fill it";
    if (per_minute >= kUnseenPerMinuteFloor) {
        r->fine.push_back("conntrack: the table holds at most " + figures + " (the floor taken: 10 a minute)");
        return;
    }
    r->warnings.push_back("conntrack: the table holds at most " + figures +
                          ", and in a halted box nothing flushes it; when it is full the packet of every new "
                          "connection that finds no unassured entry to evict is dropped (the kernel logs "
                          "'nf_conntrack: table full, dropping packet'), and established ones go on; lower "
                          "net.netfilter.nf_conntrack_tcp_timeout_established (3600, say) or raise "
                          "net.netfilter.nf_conntrack_max in [sysctl]");
}

void CheckNetconsole(const ReadinessInputs& in, Readiness* r) {
    const std::optional<NetconsoleSpec>& nc = in.config->halt.netconsole;
    if (!nc) return;
    const InterfaceConfig* ifc = in.config->FindRole(nc->role);
    const std::string where = FormatIp(nc->remote) + ":" + std::to_string(nc->port) + " on " +
                              (ifc ? ifc->Describe() : "'" + nc->role + "'");
    const auto& gw = in.config->gateway;
    if (gw && gw->wan == nc->role)
        r->warnings.push_back("netconsole: the kernel log goes out on the WAN to " + where +
                              ", in cleartext and unauthenticated, and no rule stops it: the report, every logged "
                              "drop (with the addresses of the hosts involved), anything the kernel prints; put the "
                              "collector on a LAN");
    else
        r->fine.push_back("netconsole: the kernel log goes to " + where +
                          " in cleartext, unauthenticated, past every rule (the kernel sends it below netfilter)");
}

void CheckWireguardPeers(const ReadinessInputs& in, Readiness* r) {
    std::vector<std::string> starts;  // peers the box starts handshakes with
    for (const PeerConfig& p : in.config->peers) {
        const InterfaceConfig* ifc = in.config->FindRole(p.interface);
        const std::string peer = "peer '" + p.name + "' (" + (ifc ? ifc->device : p.interface) + ")";
        if (!p.endpoint) continue;
        starts.push_back("'" + p.name + "'");
        r->warnings.push_back(
            "wireguard: " + peer + ": its endpoint " + FormatWgEndpoint(*p.endpoint) +
            " is fixed at arm; if that address changes while no handshake passes (both ends silent, or the peer "
            "moved), nothing on the halted box can learn the new one, and only a handshake the peer starts brings "
            "the tunnel back: give the peer the box's address as its endpoint and persistent-keepalive on its side");
    }
    if (starts.empty() || !in.rtc_read) return;
    if (in.rtc.empty())
        r->warnings.push_back(
            "wireguard: the kernel does not set this box's clock from a real-time clock at boot (no "
            "/sys/class/rtc/rtc0 with hctosys 1): after a reboot its clock starts behind, and " +
            Plural(starts.size(), "peer ", "peers ") + JoinList(starts) + Plural(starts.size(), " rejects", " reject") +
            " the handshakes the box starts (their timestamp goes back) until the clock passes the last one " +
            Plural(starts.size(), "it", "they") + " saw; handshakes a peer starts still work: give " +
            Plural(starts.size(), "it", "them") +
            " persistent-keepalive on " + Plural(starts.size(), "its", "their") + " side");
    else
        r->fine.push_back("wireguard: the real-time clock (" + in.rtc +
                          ") keeps the timestamps of the box's handshakes rising across reboots");
}

}  // namespace haltfw
