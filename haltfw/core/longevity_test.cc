#include "core/longevity.h"

#include <catch2/catch.hpp>
#include <linux/if.h>
#include <linux/if_addr.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <libnftnl/expr.h>
#include <libnftnl/rule.h>
#include <libnftnl/set.h>

#include <map>

#include "nft/nft_test_support.h"

using namespace haltfw;

namespace {

// One configured interface, wan on eth0 with an IPv6 address, and live
// sysctls read from `live`.
struct Box {
    Config cfg;
    NetState state;
    std::vector<ResolvedInterface> ifs;
    NftRuleset rs;
    std::map<std::string, std::string> live = {
        {"net.ipv6.conf.eth0.temp_prefered_lft", "86400"},
        {"net.ipv6.conf.eth0.temp_valid_lft", "604800"},
        {"net.ipv6.conf.eth0.max_desync_factor", "600"},
    };

    explicit Box(const std::string& sysctls = "") {
        Diagnostics d;
        cfg = ParseConfig("[ruleset]\nfile = /r.nft\n[interface.wan]\ndevice = eth0\naddress = 2001:db8:1::1/64\n"
                          "gateway6 = 2001:db8:1::fffe\n[sysctl]\nnet.ipv4.ip_forward = 1\n" + sysctls,
                          "haltfw.conf", &d);
        REQUIRE(d.ok());
        state.links.push_back({2, "eth0", std::nullopt, 1500, IFF_UP, ""});
        state.addresses.push_back({2, *ParsePrefix("2001:db8:1::1/64", true)});
        ifs = ResolveInterfaces(cfg, state);
    }

    ReadinessInputs Inputs() {
        ReadinessInputs in;
        in.config = &cfg;
        in.state = &state;
        in.interfaces = &ifs;
        in.ruleset = &rs;
        in.live = &rs;
        in.read_sysctl = [this](const std::string& k, std::string* v) {
            auto it = live.find(k);
            if (it == live.end()) return false;
            *v = it->second;
            return true;
        };
        return in;
    }
    Readiness Only(void (*check)(const ReadinessInputs&, Readiness*)) {
        Readiness r;
        check(Inputs(), &r);
        return r;
    }
};

NftObject Set(const char* name, uint32_t flags, uint64_t timeout_ms, uint32_t size) {
    nftnl_set* s = nftnl_set_alloc();
    nftnl_set_set_str(s, NFTNL_SET_TABLE, "t");
    nftnl_set_set_str(s, NFTNL_SET_NAME, name);
    nftnl_set_set_u32(s, NFTNL_SET_FAMILY, NFPROTO_INET);
    nftnl_set_set_u32(s, NFTNL_SET_FLAGS, flags);
    nftnl_set_set_u32(s, NFTNL_SET_KEY_TYPE, 7);  // ipv4_addr
    nftnl_set_set_u32(s, NFTNL_SET_KEY_LEN, 4);
    if (timeout_ms) nftnl_set_set_u64(s, NFTNL_SET_TIMEOUT, timeout_ms);
    if (size) nftnl_set_set_u32(s, NFTNL_SET_DESC_SIZE, size);
    NftObject o = CanonicalSet(s);
    nftnl_set_free(s);
    return o;
}

// A rule in chain inet t forward that adds to or updates `set` (what nft
// makes of 'add @set { ip saddr }').
NftObject Filler(const char* set, uint32_t op, uint64_t timeout_ms = 0) {
    nftnl_rule* r = nftnl_rule_alloc();
    nftnl_rule_set_str(r, NFTNL_RULE_TABLE, "t");
    nftnl_rule_set_str(r, NFTNL_RULE_CHAIN, "forward");
    nftnl_rule_set_u32(r, NFTNL_RULE_FAMILY, NFPROTO_INET);
    nftnl_expr* e = nftnl_expr_alloc("dynset");
    nftnl_expr_set_str(e, NFTNL_EXPR_DYNSET_SET_NAME, set);
    nftnl_expr_set_u32(e, NFTNL_EXPR_DYNSET_OP, op);
    nftnl_expr_set_u32(e, NFTNL_EXPR_DYNSET_SREG_KEY, NFT_REG_1);
    nftnl_expr_set_u64(e, NFTNL_EXPR_DYNSET_TIMEOUT, timeout_ms);  // the kernel dumps 0 for none
    nftnl_rule_add_expr(r, e);
    NftObject o = CanonicalRule(r);
    nftnl_rule_free(r);
    return o;
}

std::string Be64(uint64_t v) { return Be32(uint32_t(v >> 32)) + Be32(uint32_t(v)); }

std::string Element(const std::string& key, const std::string& extra = "") {
    return Nested(NFTA_SET_ELEM_KEY, Attr(NFTA_DATA_VALUE, key)) + extra;
}

const char* kFull =
    "a packet that would add a new element then adds none, and the rule it is in stops there, unmatched (the packet "
    "goes on to the next rule)";

}  // namespace

TEST_CASE("use_tempaddr with an mngtmpaddr address warns that the kernel goes on making privacy addresses") {
    Box b;
    b.live["net.ipv6.conf.eth0.use_tempaddr"] = "2\n";
    b.state.addresses[0].flags = IFA_F_PERMANENT | IFA_F_MANAGETEMPADDR;
    Readiness r = b.Only(CheckTemporaryAddresses);
    CHECK(r.fine.empty());
    CHECK(r.warnings ==
          std::vector<std::string>{
              "interface 'wan' (eth0): net.ipv6.conf.eth0.use_tempaddr = 2 (as it is now; [sysctl] does not set it) "
              "and address 2001:db8:1::1/64 has the flag mngtmpaddr: the kernel itself makes temporary (privacy) "
              "addresses from it, with no userspace and no router advertisement, and goes on doing so in the halted "
              "box: a new one about every 86400 s (temp_prefered_lft, less up to 600 s of max_desync_factor), each "
              "deleted 604800 s after it is made (temp_valid_lft); the box's own IPv6 traffic takes its source "
              "address from the newest (forwarded traffic is not touched); net.ipv6.conf.eth0.use_tempaddr = 0 in "
              "[sysctl] stops it"});
}

TEST_CASE("use_tempaddr with router advertisements on warns; with neither source nothing is made (fine)") {
    Box ra("net.ipv6.conf.eth0.accept_ra = 2\nnet.ipv6.conf.eth0.autoconf = 1\n");
    ra.live["net.ipv6.conf.eth0.use_tempaddr"] = "1";
    Readiness r = ra.Only(CheckTemporaryAddresses);
    CHECK(r.warnings ==
          std::vector<std::string>{
              "interface 'wan' (eth0): net.ipv6.conf.eth0.use_tempaddr = 1 (as it is now; [sysctl] does not set it) "
              "and router advertisements are on (net.ipv6.conf.eth0.accept_ra and net.ipv6.conf.eth0.autoconf > 0): "
              "the kernel itself makes a temporary (privacy) address beside each address it configures from an "
              "advertised prefix (SLAAC), a new one about every 86400 s (temp_prefered_lft, less up to 600 s of "
              "max_desync_factor), each deleted 604800 s after it is made (temp_valid_lft), and they last only as "
              "long as a router goes on advertising the prefix; the box's own IPv6 traffic keeps its other address "
              "as source (use_tempaddr = 1), and forwarded traffic is not touched; net.ipv6.conf.eth0.use_tempaddr = "
              "0 in [sysctl] stops it"});
    // haltfw's own accept_ra = 0 and autoconf = 0 for the device, and no
    // mngtmpaddr: the setting has nothing to act on.
    Box none;
    none.live["net.ipv6.conf.eth0.use_tempaddr"] = "1";
    r = none.Only(CheckTemporaryAddresses);
    CHECK(r.warnings.empty());
    CHECK(r.fine == std::vector<std::string>{
                        "interface 'wan' (eth0): net.ipv6.conf.eth0.use_tempaddr = 1 (as it is now; [sysctl] does not "
                        "set it), but the kernel makes temporary (privacy) addresses only from an address with the "
                        "flag mngtmpaddr or from a prefix a router advertises, and it has neither (router "
                        "advertisements off: accept_ra or autoconf = 0): none is made"});
    // No IPv6 on the device (the key cannot be read): nothing said.
    none.live.erase("net.ipv6.conf.eth0.use_tempaddr");
    r = none.Only(CheckTemporaryAddresses);
    CHECK(r.warnings.empty());
    CHECK(r.fine.empty());
}

TEST_CASE("use_tempaddr = 0 as [sysctl] arms it is fine; a temporary address there now is no lease blocker") {
    Box b("net.ipv6.conf.eth0.use_tempaddr = 0\n");
    b.live["net.ipv6.conf.eth0.use_tempaddr"] = "2";  // apply turns it off
    b.state.addresses[0].flags = IFA_F_PERMANENT | IFA_F_MANAGETEMPADDR;
    Address temp{2, *ParsePrefix("2001:db8:1:0:5a79:5793:8c21:fb5c/64", true)};
    temp.flags = IFA_F_TEMPORARY;
    temp.valid_lft = 500;
    temp.preferred_lft = 100;
    b.state.addresses.push_back(temp);
    b.rs.objects = {TestChain(NFPROTO_INET, "input", NF_INET_LOCAL_IN),
                    TestChain(NFPROTO_INET, "forward", NF_INET_FORWARD)};
    Readiness r = AssessReadiness(b.Inputs());
    CHECK(r.blockers.empty());
    CHECK(std::count(r.fine.begin(), r.fine.end(),
                     "interface 'wan' (eth0): net.ipv6.conf.eth0.use_tempaddr = 0 (as [sysctl] sets it): the kernel "
                     "makes no temporary (privacy) addresses; the 1 temporary address there now goes when its valid "
                     "lifetime runs out, within 500 s") == 1);
    // An IPv4 address with the same bit (IFA_F_SECONDARY) is no temporary one.
    Address secondary{2, *ParsePrefix("198.51.100.7/24", true)};
    secondary.flags = IFA_F_SECONDARY;
    secondary.valid_lft = 600;
    CHECK_FALSE(IsTemporaryAddress(secondary));
    CHECK(IsTemporaryAddress(temp));
}

TEST_CASE("a set the packet path fills with no size of its own warns: the kernel's 65535, what a full one does") {
    Box b;
    // What the kernel dumps for 'set seen { type ipv4_addr; flags dynamic,
    // timeout; timeout 1h; }' once 'add @seen { ip saddr }' binds it.
    b.rs.objects = {Set("seen", NFT_SET_TIMEOUT | NFT_SET_EVAL, 3600000, 65535), Filler("seen", NFT_DYNSET_OP_ADD)};
    Readiness r;
    CheckFillingSets(b.rs, &r);
    CHECK(r.warnings == std::vector<std::string>{
                            std::string("ruleset: set inet t seen is filled by the packet path ('add @seen' in chain "
                                        "inet t forward) and holds at most 65535 elements, the size the kernel gives "
                                        "such a set when the ruleset gives none: once it holds that many, ") +
                            kFull + "; elements leave only when their timeout (1h) runs out; give it a 'size' fit "
                                    "for the load"});
    // No timeouts: full for good.
    b.rs.objects = {Set("seen", NFT_SET_EVAL, 0, 65535), Filler("seen", NFT_DYNSET_OP_ADD)};
    r = {};
    CheckFillingSets(b.rs, &r);
    CHECK(r.warnings == std::vector<std::string>{
                            std::string("ruleset: set inet t seen is filled by the packet path ('add @seen' in chain "
                                        "inet t forward) and holds at most 65535 elements, the size the kernel gives "
                                        "such a set when the ruleset gives none: once it holds that many, ") +
                            kFull + "; its elements have no timeout, so once full it stays full for as long as the "
                                    "box stays halted; give it a 'size' fit for the load, and a 'timeout'"});
}

TEST_CASE("a sized set the packet path fills: fine with timeouts, a warning without") {
    Box b;
    b.rs.objects = {Set("seen", NFT_SET_TIMEOUT | NFT_SET_EVAL, 3600000, 100),
                    Filler("seen", NFT_DYNSET_OP_UPDATE, 30000)};
    Readiness r;
    CheckFillingSets(b.rs, &r);
    CHECK(r.warnings.empty());
    CHECK(r.fine == std::vector<std::string>{
                        "ruleset: set inet t seen, filled by the packet path ('update @seen' in chain inet t forward), "
                        "holds at most 100 elements (its size), each until its timeout (30s) runs out"});
    b.rs.objects = {Set("seen", NFT_SET_EVAL, 0, 100), Filler("seen", NFT_DYNSET_OP_ADD)};
    r = {};
    CheckFillingSets(b.rs, &r);
    CHECK(r.warnings == std::vector<std::string>{
                            std::string("ruleset: set inet t seen is filled by the packet path ('add @seen' in chain "
                                        "inet t forward) and its elements have no timeout: once it holds 100 "
                                        "elements (its size) it stays full for as long as the box stays halted, "
                                        "and ") +
                            kFull});
    // A set no rule adds to, and a rule that only deletes: nothing said.
    b.rs.objects = {Set("seen", NFT_SET_TIMEOUT, 60000, 0), Filler("seen", NFT_DYNSET_OP_DELETE)};
    r = {};
    CheckFillingSets(b.rs, &r);
    CHECK(r.warnings.empty());
    CHECK(r.fine.empty());
}

TEST_CASE("elements the ruleset loads with a timeout warn that they go and nothing loads them again") {
    Box b;
    b.rs.objects = {Set("allow", NFT_SET_TIMEOUT, 300000, 0), Set("plain", 0, 0, 0)};
    NftElements allow(NFPROTO_INET, "t", "allow");
    allow.Add(Element(Be32(0xc0000201)));  // the set's 5m
    allow.Add(Element(Be32(0xc0000202), Attr(NFTA_SET_ELEM_TIMEOUT, Be64(3600000))));
    allow.Add(Element(Be32(0xc0000203), Attr(NFTA_SET_ELEM_TIMEOUT, Be64(0))));  // none
    NftElements plain(NFPROTO_INET, "t", "plain");
    plain.Add(Element(Be32(0xc0000204)));
    b.rs.elements = {allow, plain};
    Readiness r;
    CheckExpiringElements(b.rs, &r);
    CHECK(r.warnings == std::vector<std::string>{
                            "ruleset: set inet t allow: 2 of its 3 elements have a timeout (the longest 1h): the "
                            "kernel deletes each when it runs out, and in the halted box nothing loads it again, so "
                            "the rules that match the set stop matching it"});
}

TEST_CASE("conntrack: a table that connections ending unseen fill within the established timeout warns") {
    Box b;
    b.live["net.netfilter.nf_conntrack_max"] = "65536\n";
    b.live["net.netfilter.nf_conntrack_tcp_timeout_established"] = "432000\n";
    Readiness r = b.Only(CheckConntrackFill);
    CHECK(r.warnings ==
          std::vector<std::string>{
              "conntrack: the table holds at most 65536 connections (net.netfilter.nf_conntrack_max, as it is now; "
              "[sysctl] does not set it), and a TCP connection that ends unseen (a host gone without FIN or RST) "
              "stays in it 432000 s (net.netfilter.nf_conntrack_tcp_timeout_established, as it is now; [sysctl] does "
              "not set it): 9 such connections a minute would fill it, and in a halted box nothing flushes it; when "
              "it is full the packet of every new connection that finds no unassured entry to evict is dropped (the "
              "kernel logs 'nf_conntrack: table full, dropping packet'), and established ones go on; lower "
              "net.netfilter.nf_conntrack_tcp_timeout_established (3600, say) or raise net.netfilter.nf_conntrack_max "
              "in [sysctl]"});
    Box tuned("net.netfilter.nf_conntrack_tcp_timeout_established = 3600\n");
    tuned.live = b.live;
    r = tuned.Only(CheckConntrackFill);
    CHECK(r.warnings.empty());
    CHECK(r.fine == std::vector<std::string>{
                        "conntrack: the table holds at most 65536 connections (net.netfilter.nf_conntrack_max, as it "
                        "is now; [sysctl] does not set it), and a TCP connection that ends unseen (a host gone "
                        "without FIN or RST) stays in it 3600 s (net.netfilter.nf_conntrack_tcp_timeout_established, "
                        "as [sysctl] sets it): 1092 such connections a minute would fill it (the floor taken: 10 a "
                        "minute)"});
    // Conntrack not loaded: nothing said.
    Box none;
    r = none.Only(CheckConntrackFill);
    CHECK(r.warnings.empty());
    CHECK(r.fine.empty());
}

TEST_CASE("timeouts read as nft writes them") {
    CHECK(FormatTimeoutMs(3600000) == "1h");
    CHECK(FormatTimeoutMs(5400000) == "1h30m");
    CHECK(FormatTimeoutMs(432000000) == "5d");
    CHECK(FormatTimeoutMs(1500) == "1s500ms");
    CHECK(FormatTimeoutMs(0) == "0s");
}

TEST_CASE("wireguard: a fixed endpoint warns that nothing halted learns a new one; no clock warns of timestamps") {
    const std::string peer = "public-key = 3p7bfXt9wbTTW2HC7OQ1Nz+DQ8hbeGdNrfx+FG+IK08=\nallowed-ips = 203.0.113.130/32\n";
    Diagnostics d;
    Config cfg = ParseConfig("[ruleset]\nfile = /r.nft\n[interface.vpn]\ndevice = wg0\nwireguard-key = /k\n"
                             "address = 203.0.113.129/25\n[peer.site]\ninterface = vpn\nendpoint = 198.51.100.77:51820\n" +
                                 peer + "[peer.laptop]\ninterface = vpn\n" +
                                 "public-key = hSDwCYkwp1R0i33ctD73Wg2/Og0mOBr066SpjqqbTmo=\nallowed-ips = 203.0.113.131/32\n",
                             "haltfw.conf", &d);
    INFO(d.FormatErrors());
    REQUIRE(d.ok());
    ReadinessInputs in;
    in.config = &cfg;
    const std::string endpoint_warning =
        "wireguard: peer 'site' (wg0): its endpoint 198.51.100.77:51820 is fixed at arm; if that address changes "
        "while no handshake passes (both ends silent, or the peer moved), nothing on the halted box can learn the "
        "new one, and only a handshake the peer starts brings the tunnel back: give the peer the box's address as "
        "its endpoint and persistent-keepalive on its side";
    SECTION("no real-time clock") {
        in.rtc_read = true;
        Readiness r;
        CheckWireguardPeers(in, &r);
        CHECK(r.warnings == std::vector<std::string>{
                                endpoint_warning,
                                "wireguard: the kernel does not set this box's clock from a real-time clock at boot "
                                "(no /sys/class/rtc/rtc0 with hctosys 1): after a reboot its clock starts behind, "
                                "and peer 'site' rejects the handshakes the box starts (their "
                                "timestamp goes back) until the clock passes the last one it saw; handshakes a peer "
                                "starts still work: give it persistent-keepalive on its side",
                            });
        CHECK(r.fine.empty());
    }
    SECTION("a real-time clock") {
        in.rtc_read = true;
        in.rtc = "rtc0, rtc_cmos";
        Readiness r;
        CheckWireguardPeers(in, &r);
        CHECK(r.warnings == std::vector<std::string>{endpoint_warning});
        CHECK(r.fine == std::vector<std::string>{"wireguard: the real-time clock (rtc0, rtc_cmos) keeps the timestamps "
                                                 "of the box's handshakes rising across reboots"});
    }
    SECTION("peers with no endpoint: the box starts nothing, nothing to say") {
        cfg.peers[0].endpoint.reset();
        in.rtc_read = true;
        Readiness r;
        CheckWireguardPeers(in, &r);
        CHECK(r.warnings.empty());
        CHECK(r.fine.empty());
    }
}
