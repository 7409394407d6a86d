#include "core/wireguard_plan.h"

#include <linux/if.h>

#include <catch2/catch.hpp>
#include <map>

#include "core/apply.h"
#include "core/config_test_support.h"
#include "core/fake_calls_test_support.h"
#include "core/plan_test_support.h"

using namespace haltfw;

namespace {

const std::string kBobPublic = "3p7bfXt9wbTTW2HC7OQ1Nz+DQ8hbeGdNrfx+FG+IK08=";
const std::string kCarolPublic = "hSDwCYkwp1R0i33ctD73Wg2/Og0mOBr066SpjqqbTmo=";

const std::string kConf = R"([ruleset]
file = /r.nft
[interface.vpn]
device = wg0
wireguard-key = /etc/haltfw/wg0.key
listen-port = 51820
address = 203.0.113.129/25
[peer.laptop]
interface = vpn
public-key = )" + kBobPublic + R"(
allowed-ips = 203.0.113.130/32
allowed-ips = 2001:db8:77::/64
persistent-keepalive = 25
[peer.site]
interface = vpn
public-key = )" + kCarolPublic + R"(
allowed-ips = 192.0.2.128/25
endpoint = 198.51.100.9:51820
)";

// The config, with the private key LoadConfig would have read.
Config Loaded() {
    Config c = ParseValid(kConf);
    WgKey k;
    k.fill(0x41);
    InterfaceConfig& vpn = c.interfaces[0];
    vpn.wireguard->private_key = WgSecret(k);
    vpn.wireguard->public_key = WgPublicKey(*vpn.wireguard->private_key);
    return c;
}

// Every sysctl at its configured value; `wg` is what read_wireguard finds.
PlanInputs Inputs(const Config& c, std::shared_ptr<WgDevice> wg, std::string read_error = "") {
    PlanInputs in = SettledInputs(c);
    in.read_wireguard = [wg, read_error](const std::string& dev, WgDevice* d, std::string* err) {
        if (!read_error.empty()) return *err = read_error, false;
        REQUIRE(dev == "wg0");
        *d = *wg;
        return true;
    };
    return in;
}

// wg0 up with the configured address, as a previous apply left it.
NetState LiveWith(const std::string& kind) {
    NetState s;
    s.links.push_back({7, "wg0", std::nullopt, 1420, IFF_UP, kind});
    s.addresses.push_back({7, *ParsePrefix("203.0.113.129/25", true)});
    return s;
}

// What the kernel reports for the configured device: the same, plus what
// it chose and learnt, and in its own order.
std::shared_ptr<WgDevice> AsConfigured(const Config& c) {
    auto d = std::make_shared<WgDevice>(WantedWireguard(c, c.interfaces[0]));
    d->ifindex = 7;
    d->public_key = c.interfaces[0].wireguard->public_key;
    WgPeer& laptop = d->peers[0];
    laptop.endpoint = WgEndpoint{*ParseIpAddr("198.51.100.77"), 40123};  // learnt from its handshake
    std::swap(laptop.allowed_ips[0], laptop.allowed_ips[1]);
    laptop.last_handshake_s = 1700000000;
    laptop.rx_bytes = 1234;
    return d;
}

std::vector<std::string> Whats(const Plan& p) {
    std::vector<std::string> out;
    for (const Action& a : p.actions) out.push_back(a.what);
    return out;
}

class FakeSystem : public System, public FakeCalls {
public:
    bool SetLinkMtu(int i, uint32_t m, std::string* e) override { return Do("mtu " + std::to_string(i) + " " + std::to_string(m), e); }
    bool SetLinkUp(int i, bool up, std::string* e) override { return Do((up ? "up " : "down ") + std::to_string(i), e); }
    bool AddAddress(int i, const Prefix& p, bool, std::string* e) override { return Do("add-addr " + std::to_string(i) + " " + FormatPrefix(p), e); }
    bool DelAddress(int i, const Prefix& p, std::string* e) override { return Do("del-addr " + std::to_string(i) + " " + FormatPrefix(p), e); }
    bool ReplaceRoute(const Route& r, std::string* e) override { return Do("route " + FormatPrefix(r.dst), e); }
    bool DelRoute(const Route& r, std::string* e) override { return Do("del-route " + FormatPrefix(r.dst), e); }
    bool LoadModule(const std::string& n, std::string* e) override { return Do("modprobe " + n, e); }
    bool WriteSysctl(const std::string& k, const std::string& v, std::string* e) override { return Do("sysctl " + k + "=" + v, e); }
    // No plan here reads a sysctl at apply (Action::previous_at_apply).
    bool ReadSysctl(const std::string& k, std::string*, std::string* e) override {
        Do("read-sysctl " + k, e);
        *e = "no sysctl in this fake";
        return false;
    }
    bool SaveRuleset(NftRuleset*, std::string* e) override { return Do("save", e); }
    bool RestoreRuleset(const NftRuleset&, std::string* e) override { return Do("restore", e); }
    bool CommitRuleset(const std::string&, std::string* e) override { return Do("commit", e); }
    bool CreateBridge(const std::string& n, const Link::BridgeOptions&, std::string* e) override { return Do("create-bridge " + n, e); }
    bool SetBridgeOptions(int, const Link::BridgeOptions&, std::string* e) override { return Do("bridge-options", e); }
    bool CreateVlan(const std::string& n, int, uint16_t, std::string* e) override { return Do("create-vlan " + n, e); }
    bool SetMaster(int, int, std::string* e) override { return Do("master", e); }
    bool DeleteLink(int i, std::string* e) override { return Do("delete " + std::to_string(i), e); }
    bool LinkIndex(const std::string& n, int* i, std::string* e) override {
        *i = 42;
        return Do("index " + n, e);
    }
    bool CreateWireguard(const std::string& n, std::string* e) override { return Do("create-wireguard " + n, e); }
    bool SetWireguard(const WgDevice& d, std::string* e) override {
        std::string line = "wireguard " + d.name + " port " + std::to_string(d.listen_port);
        for (const WgPeer& p : d.peers)
            line += " peer " + EncodeWgKey(p.public_key).substr(0, 4) +
                    (p.endpoint ? "@" + FormatWgEndpoint(*p.endpoint) : "") + " ips " + std::to_string(p.allowed_ips.size());
        return Do(line, e);
    }
};

}  // namespace

TEST_CASE("wireguard plan: a new device is created, configured, addressed and brought up", "[wireguard]") {
    Config c = Loaded();
    Plan p = ComputePlan(c, NetState{}, Inputs(c, nullptr));
    INFO(p.problems.FormatErrors());
    REQUIRE(p.problems.ok());
    CHECK(Whats(p) == std::vector<std::string>{
                          "interface 'vpn': create WireGuard device wg0",
                          "interface 'vpn' (wg0): set its WireGuard key, listen port 51820 and 2 peers",
                          "sysctl net.ipv6.conf.wg0.accept_ra = 0 (new device)",
                          "sysctl net.ipv6.conf.wg0.autoconf = 0 (new device)",
                          "interface 'vpn' (wg0): set up",
                          "interface 'vpn' (wg0): add address 203.0.113.129/25",
                      });
    CHECK(p.actions[0].line == 5);
    REQUIRE(p.actions[1].wireguard);
    CHECK(p.actions[1].wireguard->peers.size() == 2);
    CHECK_FALSE(p.actions[1].previous_wireguard);

    FakeSystem f;
    ApplyResult r = ApplyPlan(p, "", &f, [](const std::string&) {});
    REQUIRE(r.ok);
    CHECK(f.calls == std::vector<std::string>{
                         "create-wireguard wg0",
                         "index wg0",
                         "wireguard wg0 port 51820 peer 3p7b ips 2 peer hSDw@198.51.100.9:51820 ips 1",
                         "sysctl net.ipv6.conf.wg0.accept_ra=0",
                         "sysctl net.ipv6.conf.wg0.autoconf=0",
                         "index wg0",
                         "up 42",
                         "index wg0",
                         "add-addr 42 203.0.113.129/25",
                     });

    // A failure part way: the device goes, and with it all that was set on it.
    FakeSystem g;
    g.fail_on = "add-addr";
    r = ApplyPlan(p, "", &g, [](const std::string&) {});
    REQUIRE_FALSE(r.ok);
    CHECK(r.error == "interface 'vpn' (wg0): add address 203.0.113.129/25: refused");
    CHECK(r.rollback_failures.empty());
    CHECK(std::vector<std::string>(g.calls.end() - 2, g.calls.end()) ==
          std::vector<std::string>{"index wg0", "delete 42"});
}

TEST_CASE("wireguard plan: a device as configured changes nothing", "[wireguard]") {
    Config c = Loaded();
    Plan p = ComputePlan(c, LiveWith("wireguard"), Inputs(c, AsConfigured(c)));
    INFO(p.problems.FormatErrors());
    REQUIRE(p.problems.ok());
    CHECK(Whats(p).empty());
}

TEST_CASE("wireguard plan: a device that differs is set whole, and put back on failure", "[wireguard]") {
    Config c = Loaded();
    auto live = AsConfigured(c);
    live->listen_port = 40000;
    live->peers[0].keepalive_s = 0;
    live->peers[0].allowed_ips.pop_back();
    WgKey psk;
    psk.fill(0x33);
    live->peers[1].preshared_key = WgSecret(psk);
    live->peers[1].endpoint = WgEndpoint{*ParseIpAddr("198.51.100.10"), 51820};
    WgPeer stranger;
    stranger.public_key.fill(0);
    live->peers.push_back(stranger);
    Plan p = ComputePlan(c, LiveWith("wireguard"), Inputs(c, live));
    REQUIRE(p.problems.ok());
    REQUIRE(Whats(p) ==
            std::vector<std::string>{
                "interface 'vpn' (wg0): set WireGuard, 2 peers (listen port 51820 (was 40000); peer 'laptop': "
                "persistent keepalive 25 s (was 0 s); peer 'laptop': allowed IPs; peer 'site': preshared key; peer "
                "'site': endpoint 198.51.100.9:51820 (was 198.51.100.10:51820); remove peer "
                "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=)"});
    const Action& a = p.actions[0];
    CHECK(a.ifindex == 7);
    // The endpoint the kernel learnt for the laptop (no endpoint in the
    // config) is kept.
    REQUIRE(a.wireguard->peers[0].endpoint);
    CHECK(FormatWgEndpoint(*a.wireguard->peers[0].endpoint) == "198.51.100.77:40123");
    REQUIRE(a.previous_wireguard);
    CHECK(a.previous_wireguard->listen_port == 40000);

    // Forwarding last: a failing sysctl after it puts the old device back.
    Plan q = p;
    Action sys{ActionKind::kSysctl, "sysctl x = 1"};
    sys.name = "x", sys.value = "1", sys.previous_value = "0";
    q.actions.push_back(sys);
    FakeSystem f;
    f.fail_on = "sysctl x";
    ApplyResult r = ApplyPlan(q, "", &f, [](const std::string&) {});
    REQUIRE_FALSE(r.ok);
    CHECK(f.calls.back() ==
          "wireguard wg0 port 40000 peer 3p7b@198.51.100.77:40123 ips 1 peer hSDw@198.51.100.10:51820 ips 1 peer AAAA ips 0");

    // An endpoint the config does not give, and a port it does not give,
    // are the kernel's: not differences.
    auto learnt = AsConfigured(c);
    CHECK(WireguardDifferences(c, c.interfaces[0], WantedWireguard(c, c.interfaces[0]), *learnt).empty());
    WgDevice any_port = WantedWireguard(c, c.interfaces[0]);
    any_port.listen_port = 0;
    CHECK(WireguardDifferences(c, c.interfaces[0], any_port, *learnt).empty());
    CHECK(KeepLearned(any_port, *learnt).listen_port == 51820);
    // Another private key: named, never shown.
    learnt->private_key->mutable_key()->at(0) ^= 1;
    CHECK(WireguardDifferences(c, c.interfaces[0], WantedWireguard(c, c.interfaces[0]), *learnt) ==
          std::vector<std::string>{"private key"});
}

TEST_CASE("wireguard plan: problems stop apply before it changes anything", "[wireguard]") {
    Config c = Loaded();
    Plan p = ComputePlan(c, LiveWith("veth"), Inputs(c, nullptr));
    CHECK(p.problems.FormatErrors() ==
          "haltfw.conf:5: interface 'vpn': device 'wg0' exists and is a 'veth' device; delete it, and apply creates it "
          "as configured\n");
    CHECK(p.actions.empty());
    p = ComputePlan(c, LiveWith("wireguard"), Inputs(c, nullptr, "WG_CMD_GET_DEVICE wg0: Operation not supported (EOPNOTSUPP)"));
    CHECK(p.problems.FormatErrors() ==
          "haltfw.conf:5: interface 'vpn' (wg0): cannot read the WireGuard device: WG_CMD_GET_DEVICE wg0: Operation not "
          "supported (EOPNOTSUPP)\n");
}

TEST_CASE("wireguard status: each peer's state, and no secret", "[wireguard]") {
    Config c = Loaded();
    auto live = AsConfigured(c);
    live->listen_port = 51820;
    live->peers[0].tx_bytes = 99;
    live->peers.pop_back();  // 'site' is not on the device
    WgPeer stranger;
    stranger.public_key.fill(0);
    live->peers.push_back(stranger);
    std::vector<std::string> lines = WireguardStatusLines(c, c.interfaces[0], *live, 1700000012);
    CHECK(lines == std::vector<std::string>{
                       "  wireguard: public key " + EncodeWgKey(c.interfaces[0].wireguard->public_key) +
                           ", listen port 51820, 2 peers",
                       "  peer laptop: endpoint 198.51.100.77:40123, latest handshake 12 s ago, rx 1234 B, tx 99 B",
                       "  peer site: MISSING on the device",
                       "  peer AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA= (not in the config): endpoint none yet, no "
                       "handshake yet, rx 0 B, tx 0 B",
                   });
    const std::string priv = EncodeWgKey(c.interfaces[0].wireguard->private_key->key());
    for (const std::string& l : lines) CHECK(l.find(priv) == std::string::npos);
}
