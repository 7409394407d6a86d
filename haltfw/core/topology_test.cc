// Bridges and VLANs: the config keys and their errors, the plan that
// creates them, apply's rollback, and check's verdict on the invisible
// bridge.
#include "core/topology.h"

#include <catch2/catch.hpp>
#include <linux/if.h>

#include <map>

#include "core/apply.h"
#include "core/config_test_support.h"
#include "core/fake_calls_test_support.h"
#include "core/plan.h"
#include "core/plan_test_support.h"
#include "core/readiness.h"

using namespace haltfw;

namespace {

const std::string kRules = "[ruleset]\nfile = /r.nft\n";

// The invisible bridge: br0 over p1 and p2, no address.
const std::string kBridge = kRules + R"([interface.lan]
device = br0
bridge = p1 p2
)";

std::vector<std::string> Errors(const std::string& interfaces) { return ConfigErrors(kRules + interfaces); }

Link L(int index, const char* name, uint32_t flags = IFF_UP, const char* kind = "veth") {
    Link l;
    l.index = index;
    l.name = name;
    l.mtu = 1500;
    l.flags = flags;
    l.kind = kind;
    return l;
}

// Every sysctl at its configured value except `off`; keys of devices not
// in `state` do not exist.
PlanInputs Inputs(const Config& c, const NetState& state, const std::map<std::string, std::string>& off = {}) {
    return SettledInputs(c, off, [state](const std::string& k) {
        std::string dev = SysctlKeyDevice(k);
        return dev.empty() || state.FindLink(dev) != nullptr;
    });
}

std::vector<std::string> Whats(const Plan& p) {
    std::vector<std::string> out;
    for (const Action& a : p.actions) out.push_back(a.what);
    return out;
}

// The live state once apply made the invisible bridge.
NetState BridgeMade() {
    NetState s;
    s.links = {L(1, "lo"), L(2, "p1"), L(3, "p2"), L(4, "br0", IFF_UP, "bridge")};
    s.links[1].master = s.links[2].master = 4;
    s.links[3].bridge = Link::BridgeOptions{kBridgeStpState, kBridgeAgeingCentis, kBridgeMcastSnooping};
    return s;
}

class FakeSystem : public System, public FakeCalls {
public:
    bool SetLinkMtu(int i, uint32_t m, std::string* e) override {
        return Do("mtu " + std::to_string(i) + " " + std::to_string(m), e);
    }
    bool SetLinkUp(int i, bool up, std::string* e) override {
        return Do(std::string(up ? "up " : "down ") + std::to_string(i), e);
    }
    bool AddAddress(int i, const Prefix& p, bool, std::string* e) override {
        return Do("add-addr " + std::to_string(i) + " " + FormatPrefix(p), e);
    }
    bool DelAddress(int i, const Prefix& p, std::string* e) override {
        return Do("del-addr " + std::to_string(i) + " " + FormatPrefix(p), e);
    }
    bool ReplaceRoute(const Route& r, std::string* e) override {
        return Do("route " + FormatPrefix(r.dst) + " oif " + std::to_string(r.oif), e);
    }
    bool DelRoute(const Route& r, std::string* e) override { return Do("del-route " + FormatPrefix(r.dst), e); }
    bool LoadModule(const std::string& n, std::string* e) override { return Do("modprobe " + n, e); }
    bool WriteSysctl(const std::string& k, const std::string& v, std::string* e) override {
        return Do("sysctl " + k + "=" + v, e);
    }
    // No plan here reads a sysctl at apply (Action::previous_at_apply).
    bool ReadSysctl(const std::string& k, std::string*, std::string* e) override {
        Do("read-sysctl " + k, e);
        *e = "no sysctl in this fake";
        return false;
    }
    bool SaveRuleset(NftRuleset*, std::string* e) override { return Do("save", e); }
    bool RestoreRuleset(const NftRuleset&, std::string* e) override { return Do("restore", e); }
    bool CommitRuleset(const std::string&, std::string* e) override { return Do("commit", e); }
    bool CreateBridge(const std::string& n, const Link::BridgeOptions& o, std::string* e) override {
        return Do("create-bridge " + n + " stp " + std::to_string(o.stp_state) + " ageing " +
                      std::to_string(o.ageing_centis) + " snooping " + std::to_string(o.mcast_snooping),
                  e);
    }
    bool SetBridgeOptions(int i, const Link::BridgeOptions& o, std::string* e) override {
        return Do("bridge-options " + std::to_string(i) + " stp " + std::to_string(o.stp_state), e);
    }
    bool CreateVlan(const std::string& n, int p, uint16_t id, std::string* e) override {
        return Do("create-vlan " + n + " id " + std::to_string(id) + " on " + std::to_string(p), e);
    }
    bool SetMaster(int i, int m, std::string* e) override {
        return Do("master " + std::to_string(i) + " " + std::to_string(m), e);
    }
    bool DeleteLink(int i, std::string* e) override { return Do("delete " + std::to_string(i), e); }
    bool CreateWireguard(const std::string& n, std::string* e) override { return Do("create-wireguard " + n, e); }
    bool SetWireguard(const WgDevice& d, std::string* e) override { return Do("set-wireguard " + d.name, e); }
    // A created link's index: 40 + its place in `made`.
    std::vector<std::string> made{"br0", "eth0.20"};
    bool LinkIndex(const std::string& n, int* i, std::string* e) override {
        auto it = std::find(made.begin(), made.end(), n);
        *i = it == made.end() ? 0 : 40 + static_cast<int>(it - made.begin());
        return Do("index " + n, e);
    }
};

}  // namespace

TEST_CASE("bridge and vlan keys parse into plain values") {
    Config c = ParseValid(kRules + R"([interface.lan]
device = br0
bridge = p1   p2
[interface.guest]
device = eth0.20
vlan = eth0 20
address = 192.0.2.129/25
)");
    REQUIRE(c.interfaces.size() == 2);
    const InterfaceConfig& lan = c.interfaces[0];
    CHECK(lan.IsBridge());
    CHECK(lan.IsSilentBridge());
    CHECK(lan.kind_line == 5);
    CHECK(lan.bridge_ports == std::vector<std::string>{"p1", "p2"});
    const InterfaceConfig& guest = c.interfaces[1];
    CHECK(guest.IsVlan());
    CHECK(!guest.IsSilentBridge());
    CHECK(guest.vlan_parent == "eth0");
    CHECK(guest.vlan_id == 20);
}

TEST_CASE("a bridge with no address: IPv6 off on it and its ports, no ARP replies, with the bridge's line") {
    Config c = ParseValid(kBridge);
    std::map<std::string, std::pair<std::string, int>> got;
    for (const SysctlSetting& s : c.sysctls) got[s.key] = {s.value, s.line};
    using P = std::pair<std::string, int>;
    CHECK(got["net.ipv6.conf.br0.disable_ipv6"] == P{"1", 5});
    CHECK(got["net.ipv6.conf.p1.disable_ipv6"] == P{"1", 5});
    CHECK(got["net.ipv6.conf.p2.disable_ipv6"] == P{"1", 5});
    CHECK(got["net.ipv4.conf.br0.arp_ignore"] == P{"8", 5});
    // A bridge with an address is an ordinary interface: none of these.
    Config routed = ParseValid(kRules + "[interface.lan]\ndevice = br0\nbridge = p1\naddress = 192.0.2.1/24\n");
    for (const SysctlSetting& s : routed.sysctls) CHECK(s.key.find("disable_ipv6") == std::string::npos);
    // A [sysctl] line that agrees is fine; one that turns IPv6 back on is not.
    ParseValid(kBridge + "[sysctl]\nnet.ipv6.conf.p1.disable_ipv6 = 1\n");
    CHECK(ConfigErrors(kBridge + "[sysctl]\nnet.ipv6.conf.p1.disable_ipv6 = 0\n") ==
          std::vector<std::string>{
              "haltfw.conf:7: sysctl 'net.ipv6.conf.p1.disable_ipv6' = '0': interface 'lan' is a bridge with no "
              "address, which haltfw keeps silent at layer 3 (net.ipv6.conf.p1.disable_ipv6 = 1): give the bridge an "
              "address, or drop this line"});
}

TEST_CASE("bridge and vlan values: each error with its line") {
    CHECK(Errors("[interface.lan]\ndevice = br0\nbridge =\n") ==
          std::vector<std::string>{"haltfw.conf:5: interface 'lan': bridge: no port named (bridge = DEV DEV ...)"});
    CHECK(Errors("[interface.lan]\ndevice = br0\nbridge = p1 p/2 p1\n") ==
          std::vector<std::string>{"haltfw.conf:5: interface 'lan': bridge port 'p/2': not a valid interface name",
                                   "haltfw.conf:5: interface 'lan': bridge port 'p1' listed twice"});
    CHECK(Errors("[interface.lan]\ndevice = br0\nbridge = p1\nbridge = p2\n") ==
          std::vector<std::string>{"haltfw.conf:6: 'bridge' given twice (first on line 5)"});
    CHECK(Errors("[interface.g]\ndevice = eth0.20\nvlan = eth0 4095\n") ==
          std::vector<std::string>{
              "haltfw.conf:5: interface 'g': vlan 'eth0 4095': VLAN ID '4095': not a number from 1 to 4094"});
    CHECK(Errors("[interface.g]\ndevice = eth0.20\nvlan = eth0 0\n") ==
          std::vector<std::string>{
              "haltfw.conf:5: interface 'g': vlan 'eth0 0': VLAN ID '0': not a number from 1 to 4094"});
    CHECK(Errors("[interface.g]\ndevice = eth0.20\nvlan = eth0 twenty\n") ==
          std::vector<std::string>{
              "haltfw.conf:5: interface 'g': vlan 'eth0 twenty': VLAN ID 'twenty': not a number from 1 to 4094"});
    CHECK(Errors("[interface.g]\ndevice = eth0.20\nvlan = eth0\n") ==
          std::vector<std::string>{"haltfw.conf:5: interface 'g': vlan 'eth0': expected 'DEV ID' (the parent device "
                                   "and a VLAN ID from 1 to 4094)"});
    CHECK(Errors("[interface.g]\ndevice = eth0.20\nvlan = eth:0 20\n") ==
          std::vector<std::string>{
              "haltfw.conf:5: interface 'g': vlan 'eth:0 20': parent 'eth:0': not a valid interface name"});
    CHECK(Errors("[interface.g]\ndevice = x\nvlan = eth0 20\nbridge = p1\n") ==
          std::vector<std::string>{"haltfw.conf:6: interface 'g': 'bridge' and 'vlan' (line 5) each make a device of "
                                   "their own kind: give one"});
    CHECK(Errors("[interface.g]\nmac = 52:54:00:00:00:01\nvlan = eth0 20\n") ==
          std::vector<std::string>{"haltfw.conf:5: interface 'g': vlan: haltfw creates this device, so it is named by "
                                   "'device =', not chosen by 'mac ='"});
}

TEST_CASE("bridges and VLANs across interfaces: ports, parents and loops") {
    // The bridge as its own port, a port in two bridges.
    CHECK(Errors("[interface.a]\ndevice = br0\nbridge = p1 br0\n[interface.b]\ndevice = br1\nbridge = p1\n") ==
          std::vector<std::string>{
              "haltfw.conf:5: interface 'a': bridge port 'br0' is the bridge itself",
              "haltfw.conf:8: interface 'b': bridge port 'p1' is already a port of interface 'a' (line 5)"});
    // A bridge as a port of another; a port with addresses of its own.
    CHECK(Errors("[interface.a]\ndevice = br0\nbridge = p1\n[interface.b]\ndevice = br1\nbridge = br0\n") ==
          std::vector<std::string>{"haltfw.conf:8: interface 'b': bridge port 'br0' is the bridge of interface 'a' "
                                   "(line 5); a bridge cannot be a port of another bridge"});
    CHECK(Errors("[interface.wan]\ndevice = p1\naddress = 198.51.100.1/24\n"
                 "[interface.lan]\ndevice = br0\nbridge = p1 p2\n") ==
          std::vector<std::string>{
              "haltfw.conf:8: interface 'lan': bridge port 'p1' is interface 'wan' (line 3), which has addresses or "
              "routes: a port's own addresses receive nothing (the bridge takes its frames); put them on the bridge"});
    // WireGuard is layer 3 only: no port, no VLAN parent.
    std::vector<std::string> wg = Errors("[interface.vpn]\ndevice = wg0\nwireguard-key = wg0.key\n"
                                         "[interface.lan]\ndevice = br0\nbridge = wg0\n"
                                         "[interface.g]\ndevice = wg0.20\nvlan = wg0 20\n");
    CHECK(std::count(wg.begin(), wg.end(),
                     "haltfw.conf:8: interface 'lan': bridge port 'wg0' is the WireGuard device of interface 'vpn' "
                     "(line 5); a bridge takes only Ethernet devices") == 1);
    CHECK(std::count(wg.begin(), wg.end(),
                     "haltfw.conf:11: interface 'g': vlan parent 'wg0' is the WireGuard device of interface 'vpn' "
                     "(line 5); 802.1Q needs an Ethernet device") == 1);
    CHECK(Errors("[interface.vpn]\ndevice = wg0\nbridge = p1\nwireguard-key = wg0.key\n") ==
          std::vector<std::string>{"haltfw.conf:6: interface 'vpn': 'wireguard-key' and 'bridge' (line 5) each make "
                                   "a device of their own kind: give one"});
    // A port that is an interface with only an MTU is fine.
    ParseValid(kRules + "[interface.up]\ndevice = p1\nmtu = 9000\n[interface.lan]\ndevice = br0\nbridge = p1\n");
    // A VLAN on itself; the same VLAN twice on one parent.
    CHECK(Errors("[interface.g]\ndevice = eth0.20\nvlan = eth0.20 20\n") ==
          std::vector<std::string>{"haltfw.conf:5: interface 'g': vlan parent 'eth0.20' is the device itself"});
    CHECK(Errors("[interface.a]\ndevice = v1\nvlan = eth0 20\n[interface.b]\ndevice = v2\nvlan = eth0 20\n") ==
          std::vector<std::string>{
              "haltfw.conf:8: interface 'b': VLAN 20 on 'eth0' is already interface 'a' (line 5)"});
    // The same ID on two parents is two VLANs.
    ParseValid(kRules + "[interface.a]\ndevice = v1\nvlan = eth0 20\n[interface.b]\ndevice = v2\nvlan = eth1 20\n");
    // A bridge whose port is a VLAN on the bridge; two VLANs on each other.
    CHECK(Errors("[interface.a]\ndevice = br0\nbridge = p1 br0.20\n[interface.b]\ndevice = br0.20\nvlan = br0 20\n") ==
          std::vector<std::string>{"haltfw.conf:8: interface 'b': devices in a loop: 'br0' -> 'br0.20' -> 'br0' (a "
                                   "bridge sits on its ports, a VLAN on its parent)"});
    CHECK(Errors("[interface.a]\ndevice = va\nvlan = vb 2\n[interface.b]\ndevice = vb\nvlan = va 3\n") ==
          std::vector<std::string>{"haltfw.conf:8: interface 'b': devices in a loop: 'va' -> 'vb' -> 'va' (a bridge "
                                   "sits on its ports, a VLAN on its parent)"});
}

TEST_CASE("creation order: each device after the created ones it sits on") {
    Config c = ParseValid(kRules + R"([interface.top]
device = br1
bridge = eth0.20 p3
[interface.mid]
device = eth0.20
vlan = br0 20
[interface.low]
device = br0
bridge = p1
)");
    std::vector<std::string> order;
    for (const InterfaceConfig* i : CreationOrder(c.interfaces)) order.push_back(i->device);
    CHECK(order == std::vector<std::string>{"br0", "eth0.20", "br1"});
}

TEST_CASE("sysctl keys name their device") {
    CHECK(SysctlKeyDevice("net.ipv6.conf.eth0/20.disable_ipv6") == "eth0.20");
    CHECK(SysctlKeyDevice("net.ipv4.neigh.br0.gc_stale_time") == "br0");
    CHECK(SysctlKeyDevice("net.ipv4.conf.all.forwarding") == "");
    CHECK(SysctlKeyDevice("net.ipv4.ip_forward") == "");
    CHECK(DeviceSysctlKey("ipv6", "eth0.20", "disable_ipv6") == "net.ipv6.conf.eth0/20.disable_ipv6");
}

TEST_CASE("plan for the invisible bridge: created down, silenced, ports added, then up") {
    Config c = ParseValid(kBridge);
    NetState s;
    s.links = {L(1, "lo"), L(2, "p1"), L(3, "p2", 0)};
    Plan p = ComputePlan(c, s, Inputs(c, s, {{"net.ipv6.conf.p1.disable_ipv6", "0"}}));
    INFO(p.problems.FormatErrors());
    REQUIRE(p.problems.ok());
    CHECK(Whats(p) == std::vector<std::string>{
                          "interface 'lan': create bridge br0 (STP off, multicast snooping off)",
                          "sysctl net.ipv6.conf.br0.accept_ra = 0 (new device)",
                          "sysctl net.ipv6.conf.br0.autoconf = 0 (new device)",
                          "sysctl net.ipv6.conf.br0.disable_ipv6 = 1 (new device)",
                          "sysctl net.ipv4.conf.br0.arp_ignore = 8 (new device)",
                          "sysctl net.ipv6.conf.p1.disable_ipv6 = 1 (was 0)",
                          "interface 'lan' (br0): add port p1",
                          "interface 'lan' (br0): add port p2",
                          "interface 'lan' (br0): set port p2 up",
                          "interface 'lan' (br0): set up",
                      });
    // Once made, nothing more to do.
    NetState made = BridgeMade();
    Plan again = ComputePlan(c, made, Inputs(c, made));
    INFO(again.problems.FormatErrors());
    CHECK(again.problems.ok());
    CHECK(Whats(again).empty());
}

TEST_CASE("plan for a bridge that exists: extra ports released, options put right") {
    Config c = ParseValid(kBridge);
    NetState s = BridgeMade();
    s.links.push_back(L(5, "p3"));
    s.links.back().master = 4;
    s.links[3].bridge->stp_state = 1;
    Plan p = ComputePlan(c, s, Inputs(c, s));
    CHECK(Whats(p) == std::vector<std::string>{
                          "interface 'lan' (br0): set STP off, ageing 300 s, multicast snooping off",
                          "interface 'lan' (br0): release port p3 (not in the config)",
                      });
}

TEST_CASE("plan problems: a missing port, a port of another bridge, a device of another kind") {
    Config c = ParseValid(kBridge);
    NetState s;
    s.links = {L(2, "p1"), L(6, "brX", IFF_UP, "bridge"), L(3, "p2")};
    s.links[2].master = 6;
    s.links.erase(s.links.begin());
    Plan p = ComputePlan(c, s, Inputs(c, s));
    CHECK(FormattedErrors(p.problems) == std::vector<std::string>{
                                             "haltfw.conf:5: interface 'lan': bridge port 'p1' does not exist",
                                         });
    s.links.push_back(L(2, "p1"));
    p = ComputePlan(c, s, Inputs(c, s));
    CHECK(FormattedErrors(p.problems) ==
          std::vector<std::string>{"haltfw.conf:5: interface 'lan': bridge port 'p2' is a port of 'brX' already: "
                                   "release it first ('ip link set p2 nomaster')"});
    s.links = {L(2, "p1"), L(3, "p2"), L(4, "br0")};
    p = ComputePlan(c, s, Inputs(c, s));
    CHECK(FormattedErrors(p.problems) ==
          std::vector<std::string>{"haltfw.conf:5: interface 'lan': device 'br0' exists and is a 'veth', not a "
                                   "bridge; delete it, and apply creates it as configured"});
    Config v = ParseValid(kRules + "[interface.g]\ndevice = eth0.20\nvlan = eth0 20\n");
    s.links = {L(2, "eth0"), L(3, "eth0.20", IFF_UP, "vlan")};
    s.links[1].parent = 2, s.links[1].vlan_id = 30;
    p = ComputePlan(v, s, Inputs(v, s));
    CHECK(FormattedErrors(p.problems) ==
          std::vector<std::string>{"haltfw.conf:5: interface 'g': device 'eth0.20' exists as VLAN 30 on 'eth0', not "
                                   "VLAN 20 on 'eth0'; delete it, and apply creates it as configured"});
}

TEST_CASE("plan problems: a port of an invisible bridge that holds an address is refused before any change") {
    Config c = ParseValid(kBridge);
    NetState s;
    s.links = {L(2, "p1"), L(3, "p2")};
    // IPv6 off on the port would delete the static address for good.
    s.addresses.push_back({2, *ParsePrefix("2001:db8:c::5/64", true)});
    s.addresses.push_back({3, *ParsePrefix("fe80::1/64", true)});
    s.addresses.push_back({3, *ParsePrefix("192.0.2.9/24", true)});
    Plan p = ComputePlan(c, s, Inputs(c, s));
    CHECK(FormattedErrors(p.problems) ==
          std::vector<std::string>{
              "haltfw.conf:5: interface 'lan': bridge port 'p1' holds address 2001:db8:c::5/64, and the ports of a "
              "bridge with no address carry none: remove it first ('ip address del 2001:db8:c::5/64 dev p1')",
              "haltfw.conf:5: interface 'lan': bridge port 'p2' holds address 192.0.2.9/24, and the ports of a "
              "bridge with no address carry none: remove it first ('ip address del 192.0.2.9/24 dev p2')",
          });
}

TEST_CASE("a VLAN with an address and a route: created, then found by name") {
    Config c = ParseValid(kRules + R"([interface.g]
device = eth0.20
vlan = eth0 20
address = 192.0.2.129/25
route = 203.0.113.0/24 via 192.0.2.130
)");
    NetState s;
    s.links = {L(2, "eth0")};
    Plan p = ComputePlan(c, s, Inputs(c, s));
    REQUIRE(p.problems.ok());
    FakeSystem sys;
    ApplyResult r = ApplyPlan(p, "", &sys, [](const std::string&) {});
    REQUIRE(r.ok);
    CHECK(sys.calls == std::vector<std::string>{
                           "create-vlan eth0.20 id 20 on 2",
                           "sysctl net.ipv6.conf.eth0/20.accept_ra=0",
                           "sysctl net.ipv6.conf.eth0/20.autoconf=0",
                           "index eth0.20", "up 41",
                           "index eth0.20", "add-addr 41 192.0.2.129/25",
                           "index eth0.20", "route 203.0.113.0/24 oif 41",
                       });
}

TEST_CASE("a device named with 'failed' in it is refused: the halted report would read as a failure") {
    CHECK(ConfigErrors(kRules + "[interface.lan]\ndevice = br0\nbridge = eth0 failed1\n") ==
          std::vector<std::string>{"haltfw.conf:5: interface 'lan': bridge port 'failed1': a name with 'failed' in it "
                                   "would make the halted box's report read as a failure; rename the device"});
    CHECK(ConfigErrors(kRules + "[interface.lan]\ndevice = FAILED\n") ==
          std::vector<std::string>{"haltfw.conf:4: interface 'lan': device 'FAILED': a name with 'failed' in it "
                                   "would make the halted box's report read as a failure; rename the device"});
}

TEST_CASE("the ruleset loads after the devices it may name exist, before any of them is up") {
    // A flowtable or a netdev chain naming a VLAN or a bridge apply creates
    // fails to load (ENOENT) before the device exists.
    Config c = ParseValid(kRules + R"([interface.g]
device = eth0.20
vlan = eth0 20
address = 192.0.2.129/25
)");
    NetState s;
    s.links = {L(2, "eth0")};
    PlanInputs in = Inputs(c, s);
    in.ruleset_current = false;
    Plan p = ComputePlan(c, s, in);
    REQUIRE(p.problems.ok());
    std::vector<std::string> w = Whats(p);
    std::string all;
    for (const std::string& x : w) all += x + "\n";
    INFO(all);
    auto at = [&](const std::string& prefix) {
        auto it = std::find_if(w.begin(), w.end(), [&](const std::string& x) { return x.rfind(prefix, 0) == 0; });
        REQUIRE(it != w.end());
        return it - w.begin();
    };
    CHECK(at("interface 'g': create VLAN") < at("load the ruleset"));
    CHECK(at("load the ruleset") < at("interface 'g' (eth0.20): set up"));
    CHECK(at("load the ruleset") < at("interface 'g' (eth0.20): add address"));
}

TEST_CASE("the ruleset loads before a port joins a bridge or an existing link changes, and is undone after") {
    Config c = ParseValid(kBridge);
    NetState s;
    s.links = {L(1, "lo"), L(2, "p1"), L(3, "p2", 0)};
    PlanInputs in = Inputs(c, s, {{"net.ipv6.conf.p1.disable_ipv6", "0"}});
    in.ruleset_current = false;
    Plan p = ComputePlan(c, s, in);
    INFO(p.problems.FormatErrors());
    REQUIRE(p.problems.ok());
    CHECK(Whats(p) == std::vector<std::string>{
                          "interface 'lan': create bridge br0 (STP off, multicast snooping off)",
                          "sysctl net.ipv6.conf.br0.accept_ra = 0 (new device)",
                          "sysctl net.ipv6.conf.br0.autoconf = 0 (new device)",
                          "sysctl net.ipv6.conf.br0.disable_ipv6 = 1 (new device)",
                          "sysctl net.ipv4.conf.br0.arp_ignore = 8 (new device)",
                          "load the ruleset (1 rules file) in one transaction",
                          "sysctl net.ipv6.conf.p1.disable_ipv6 = 1 (was 0)",
                          "interface 'lan' (br0): add port p1",
                          "interface 'lan' (br0): add port p2",
                          "interface 'lan' (br0): set port p2 up",
                          "interface 'lan' (br0): set up",
                      });
}

TEST_CASE("apply: a port the kernel refuses rolls the bridge back whole") {
    Config c = ParseValid(kBridge);
    NetState s;
    s.links = {L(2, "p1"), L(3, "p2")};
    Plan p = ComputePlan(c, s, Inputs(c, s, {{"net.ipv6.conf.p1.disable_ipv6", "0"}}));
    REQUIRE(p.problems.ok());
    FakeSystem sys;
    sys.fail_on = "master 3";
    ApplyResult r = ApplyPlan(p, "", &sys, [](const std::string&) {});
    CHECK(!r.ok);
    CHECK(r.error == "interface 'lan' (br0): add port p2: refused");
    CHECK(r.rollback_failures.empty());
    CHECK(sys.calls == std::vector<std::string>{
                           "create-bridge br0 stp 0 ageing 30000 snooping 0",
                           "sysctl net.ipv6.conf.br0.accept_ra=0",
                           "sysctl net.ipv6.conf.br0.autoconf=0",
                           "sysctl net.ipv6.conf.br0.disable_ipv6=1",
                           "sysctl net.ipv4.conf.br0.arp_ignore=8",
                           "sysctl net.ipv6.conf.p1.disable_ipv6=1",
                           "index br0", "master 2 40",
                           "index br0", "master 3 40",
                           // the rollback, newest first
                           "master 2 0",
                           "sysctl net.ipv6.conf.p1.disable_ipv6=0",
                           "index br0", "delete 40",
                       });
}

TEST_CASE("check: the invisible bridge must answer nothing at layer 3") {
    Config c = ParseValid(kBridge);
    NetState s = BridgeMade();
    std::map<std::string, std::string> sys;
    for (const SysctlSetting& x : c.sysctls) sys[x.key] = x.value;
    auto assess = [&] {
        std::vector<ResolvedInterface> ifs = ResolveInterfaces(c, s);
        ReadinessInputs in;
        in.config = &c;
        in.state = &s;
        in.interfaces = &ifs;
        in.read_sysctl = [&](const std::string& k, std::string* v) {
            if (!sys.count(k)) return false;
            *v = sys[k];
            return true;
        };
        Readiness r;
        CheckSilentBridges(in, &r);
        return r;
    };
    Readiness fine = assess();
    CHECK(fine.blockers.empty());
    CHECK(fine.fine == std::vector<std::string>{"interface 'lan' (br0), a bridge with no address: 2 ports, nothing of "
                                                "the box at layer 3 (no address, IPv6 off, no ARP replies)"});
    s.addresses.push_back({3, *ParsePrefix("192.0.2.9/24", true)});
    sys["net.ipv6.conf.p1.disable_ipv6"] = "0";
    sys["net.ipv4.conf.br0.arp_ignore"] = "0";
    s.links[3].bridge->stp_state = 1;
    s.links[2].master = 0;
    Readiness bad = assess();
    const std::string w = "interface 'lan' (br0), a bridge with no address: ";
    CHECK(bad.blockers ==
          std::vector<std::string>{
              w + "the bridge answers ARP for the box's addresses on other interfaces (net.ipv4.conf.br0.arp_ignore = "
                  "0, not 8); 'haltfw apply' sets it",
              w + "STP is on: the bridge sends BPDUs from its own MAC address, and the kernel ran /sbin/bridge-stp; "
                  "'haltfw apply' turns it off",
              w + "IPv6 is on for port 'p1' (net.ipv6.conf.p1.disable_ipv6 = 0): it takes a link-local address and "
                  "answers neighbour solicitations; 'haltfw apply' turns it off",
              w + "'p2' is not its port",
              w + "port 'p2' holds address 192.0.2.9/24, so the box answers at layer 3 there (an invisible bridge has "
                  "none: remove it, or give the bridge an 'address')",
          });
    // A port the config does not list, attached after apply (a tap, say).
    s = BridgeMade();
    s.links.push_back(L(5, "tap0"));
    s.links.back().master = 4;
    sys.clear();
    for (const SysctlSetting& x : c.sysctls) sys[x.key] = x.value;
    CHECK(assess().blockers ==
          std::vector<std::string>{w + "'tap0' is a port the config does not list; the halted box would bridge it "
                                       "('haltfw apply' releases it)"});
}
