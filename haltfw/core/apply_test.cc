#include "core/apply.h"
#include "core/fake_calls_test_support.h"

#include <catch2/catch.hpp>

#include <algorithm>
#include <map>
#include <memory>

using namespace haltfw;

namespace {

// Records every call as a line; fails the call whose line starts with
// `fail_on`, with "refused".
class FakeSystem : public System, public FakeCalls {
public:
    bool SetLinkMtu(int i, uint32_t m, std::string* e) override {
        return Do("mtu " + std::to_string(i) + " " + std::to_string(m), e);
    }
    bool SetLinkUp(int i, bool up, std::string* e) override {
        return Do(std::string(up ? "up " : "down ") + std::to_string(i), e);
    }
    bool AddAddress(int i, const Prefix& p, bool r, std::string* e) override {
        return Do(std::string(r ? "replace-addr " : "add-addr ") + std::to_string(i) + " " + FormatPrefix(p), e);
    }
    bool DelAddress(int i, const Prefix& p, std::string* e) override {
        return Do("del-addr " + std::to_string(i) + " " + FormatPrefix(p), e);
    }
    bool ReplaceRoute(const Route& r, std::string* e) override { return Do("route " + FormatPrefix(r.dst), e); }
    bool DelRoute(const Route& r, std::string* e) override { return Do("del-route " + FormatPrefix(r.dst), e); }
    /// The sysctls ReadSysctl finds; a module's keys join them when it loads.
    std::map<std::string, std::string> sysctls;
    std::map<std::string, std::map<std::string, std::string>> module_sysctls;

    bool LoadModule(const std::string& n, std::string* e) override {
        if (!Do("modprobe " + n, e)) return false;
        sysctls.merge(module_sysctls[n]);
        return true;
    }
    bool WriteSysctl(const std::string& k, const std::string& v, std::string* e) override {
        return Do("sysctl " + k + "=" + v, e);
    }
    bool ReadSysctl(const std::string& k, std::string* v, std::string* e) override {
        if (!Do("read-sysctl " + k, e)) return false;
        auto it = sysctls.find(k);
        if (it == sysctls.end()) {
            *e = "read " + k + ": No such file or directory";
            return false;
        }
        *v = it->second;
        return true;
    }
    bool SaveRuleset(NftRuleset* rs, std::string* e) override {
        rs->objects.resize(3);
        return Do("save", e);
    }
    bool RestoreRuleset(const NftRuleset& rs, std::string* e) override {
        return Do("restore " + std::to_string(rs.objects.size()) + " objects", e);
    }
    bool CommitRuleset(const std::string& p, std::string* e) override { return Do("commit " + p, e); }
    bool CreateBridge(const std::string& n, const Link::BridgeOptions&, std::string* e) override {
        return Do("create-bridge " + n, e);
    }
    bool SetBridgeOptions(int i, const Link::BridgeOptions& o, std::string* e) override {
        return Do("bridge-options " + std::to_string(i) + " stp " + std::to_string(o.stp_state), e);
    }
    bool CreateVlan(const std::string& n, int p, uint16_t id, std::string* e) override {
        return Do("create-vlan " + n + " " + std::to_string(id) + " on " + std::to_string(p), e);
    }
    bool SetMaster(int i, int m, std::string* e) override {
        return Do("master " + std::to_string(i) + " " + std::to_string(m), e);
    }
    bool DeleteLink(int i, std::string* e) override { return Do("delete " + std::to_string(i), e); }
    // Links created by the fake get index 100 + the order of creation.
    bool LinkIndex(const std::string& n, int* i, std::string* e) override {
        *i = n == "br0" ? 100 : n == "p9" ? 9 : 101;
        return Do("index " + n, e);
    }
    bool CreateWireguard(const std::string& n, std::string* e) override { return Do("create-wireguard " + n, e); }
    // Names the device, the port and the peers; no key ever reaches a call line.
    bool SetWireguard(const WgDevice& d, std::string* e) override {
        return Do("wireguard " + d.name + " port " + std::to_string(d.listen_port) + " peers " +
                      std::to_string(d.peers.size()),
                  e);
    }
};

Plan SamplePlan() {
    Plan p;
    Action mtu{ActionKind::kLinkMtu, "mtu"};
    mtu.ifindex = 2, mtu.mtu = 1400, mtu.previous_mtu = 1500;
    Action up{ActionKind::kLinkUp, "up"};
    up.ifindex = 3;
    Action addr{ActionKind::kAddAddress, "addr"};
    addr.ifindex = 3, addr.prefix = *ParsePrefix("192.0.2.1/24", true);
    Action route{ActionKind::kReplaceRoute, "route 203.0.113.0/24", 14};
    route.route.dst = *ParsePrefix("203.0.113.0/24", true);
    Action rules{ActionKind::kRuleset, "ruleset"};
    Action sys{ActionKind::kSysctl, "forwarding"};
    sys.name = "net.ipv4.ip_forward", sys.value = "1", sys.previous_value = "0";
    p.actions = {mtu, up, addr, route, rules, sys};
    return p;
}

}  // namespace

TEST_CASE("apply runs every action in order") {
    FakeSystem f;
    std::vector<std::string> progress;
    ApplyResult r =
        ApplyPlan(SamplePlan(), "flush ruleset\n", &f, [&](const std::string& s) { progress.push_back(s); });
    REQUIRE(r.ok);
    CHECK(f.calls == std::vector<std::string>{"mtu 2 1400", "up 3", "add-addr 3 192.0.2.1/24", "route 203.0.113.0/24",
                                              "save", "commit flush ruleset\n", "sysctl net.ipv4.ip_forward=1"});
    CHECK(progress.size() == 6);
}

TEST_CASE("a failed route undoes the address, the link and the MTU, newest first") {
    FakeSystem f;
    f.fail_on = "route";
    std::vector<std::string> progress;
    ApplyResult r = ApplyPlan(SamplePlan(), "x", &f, [&](const std::string& s) { progress.push_back(s); });
    REQUIRE_FALSE(r.ok);
    CHECK(r.error == "route 203.0.113.0/24: refused");
    CHECK(r.error_line == 14);
    CHECK(r.rollback_failures.empty());
    CHECK(f.calls == std::vector<std::string>{"mtu 2 1400", "up 3", "add-addr 3 192.0.2.1/24", "route 203.0.113.0/24",
                                              "del-addr 3 192.0.2.1/24", "down 3", "mtu 2 1500"});
    CHECK(progress.back() == "rollback: undo 'mtu': restore mtu 1500");
}

TEST_CASE("a failed sysctl after the ruleset reloads the previous ruleset") {
    FakeSystem f;
    f.fail_on = "sysctl";
    ApplyResult r = ApplyPlan(SamplePlan(), "new", &f, [](const std::string&) {});
    REQUIRE_FALSE(r.ok);
    REQUIRE(f.calls.size() == 12);
    CHECK(f.calls[6] == "sysctl net.ipv4.ip_forward=1");
    CHECK(f.calls[7] == "restore 3 objects");
    CHECK(f.calls[8] == "del-route 203.0.113.0/24");
    CHECK(f.calls[11] == "mtu 2 1500");
}

TEST_CASE("a failing undo step is reported, and the others still run") {
    Plan p = SamplePlan();
    ApplyResult r;
    // Make the address removal fail too: it is the first undo step.
    class Twice : public FakeSystem {
    public:
        bool DelAddress(int, const Prefix&, std::string* e) override {
            calls.push_back("del-addr");
            *e = "gone";
            return false;
        }
    } t;
    t.fail_on = "route";
    r = ApplyPlan(p, "x", &t, [](const std::string&) {});
    REQUIRE_FALSE(r.ok);
    REQUIRE(r.rollback_failures.size() == 1);
    CHECK(r.rollback_failures[0] == "undo 'addr': remove address 192.0.2.1/24: gone");
    CHECK(t.calls.back() == "mtu 2 1500");
}

TEST_CASE("a failed WireGuard set on an existing device puts back its previous configuration") {
    // Setting a device is not atomic (several messages, the first replacing
    // every peer; the kernel applies part of one before refusing the rest):
    // a failed set may have changed the device, so its undo runs anyway.
    auto device = [](uint16_t port, size_t peers) {
        auto d = std::make_shared<WgDevice>();
        d->name = "wg0";
        d->listen_port = port;
        d->peers.resize(peers);
        return d;
    };
    Plan p;
    Action mtu{ActionKind::kLinkMtu, "mtu"};
    mtu.ifindex = 2, mtu.mtu = 1400, mtu.previous_mtu = 1500;
    Action set{ActionKind::kWireguard, "wireguard wg0", 9};
    set.device = "wg0", set.ifindex = 7;
    set.wireguard = device(51820, 2);
    set.previous_wireguard = device(40000, 1);
    p.actions = {mtu, set};
    FakeSystem f;
    f.fail_on = "wireguard wg0 port 51820";
    std::vector<std::string> progress;
    ApplyResult r = ApplyPlan(p, "x", &f, [&](const std::string& s) { progress.push_back(s); });
    REQUIRE_FALSE(r.ok);
    CHECK(r.error == "wireguard wg0: refused");
    CHECK(r.error_line == 9);
    CHECK(r.rollback_failures.empty());
    CHECK(f.calls == std::vector<std::string>{"mtu 2 1400", "wireguard wg0 port 51820 peers 2",
                                              "wireguard wg0 port 40000 peers 1", "mtu 2 1500"});
    CHECK(std::find(progress.begin(), progress.end(),
                    "rollback: undo 'wireguard wg0': put back its previous WireGuard configuration") != progress.end());

    // A device this plan created has no previous configuration: it goes.
    Action create{ActionKind::kCreateWireguard, "create wg0"};
    create.device = "wg0";
    set.on_new_link = true;
    set.previous_wireguard = nullptr;
    p.actions = {create, set};
    FakeSystem g;
    g.fail_on = "wireguard";
    REQUIRE_FALSE(ApplyPlan(p, "x", &g, [](const std::string&) {}).ok);
    CHECK(g.calls ==
          std::vector<std::string>{"create-wireguard wg0", "wireguard wg0 port 51820 peers 2", "index wg0", "delete 101"});
}

namespace {

// What the plan makes of `[sysctl] KEY = 262144` (line 13) on a kernel
// without nf_conntrack: the load, the ruleset, the sysctl read at apply,
// then forwarding (line 14).
Plan ConntrackPlan(const std::string& key) {
    Plan p;
    Action load{ActionKind::kLoadModule, "load module nf_conntrack", 13};
    load.name = "nf_conntrack";
    Action rules{ActionKind::kRuleset, "ruleset"};
    Action ct{ActionKind::kSysctl, "sysctl " + key + " = 262144 (once nf_conntrack is loaded)", 13};
    ct.name = key, ct.value = "262144", ct.previous_at_apply = true;
    Action fwd{ActionKind::kSysctl, "forwarding", 14};
    fwd.name = "net.ipv4.ip_forward", fwd.value = "1", fwd.previous_value = "0";
    p.actions = {load, rules, ct, fwd};
    return p;
}

}  // namespace

TEST_CASE("a sysctl read at apply: its value then is what a rollback puts back") {
    FakeSystem f;
    f.module_sysctls["nf_conntrack"] = {{"net.netfilter.nf_conntrack_max", "65536"}};
    f.fail_on = "sysctl net.ipv4";
    std::vector<std::string> progress;
    ApplyResult r = ApplyPlan(ConntrackPlan("net.netfilter.nf_conntrack_max"), "new", &f,
                              [&](const std::string& s) { progress.push_back(s); });
    REQUIRE_FALSE(r.ok);
    CHECK(r.error_line == 14);
    CHECK(r.rollback_failures.empty());
    CHECK(f.calls == std::vector<std::string>{"modprobe nf_conntrack", "save", "commit new",
                                              "read-sysctl net.netfilter.nf_conntrack_max",
                                              "sysctl net.netfilter.nf_conntrack_max=262144",
                                              "sysctl net.ipv4.ip_forward=1",
                                              "sysctl net.netfilter.nf_conntrack_max=65536", "restore 3 objects"});
    CHECK(std::find(progress.begin(), progress.end(),
                    "rollback: undo 'sysctl net.netfilter.nf_conntrack_max = 262144 (once nf_conntrack is loaded)': "
                    "restore net.netfilter.nf_conntrack_max = 65536") != progress.end());
}

TEST_CASE("a sysctl read at apply that holds the value already is not written, and has no undo") {
    FakeSystem f;
    f.module_sysctls["nf_conntrack"] = {{"net.netfilter.nf_conntrack_max", "262144"}};
    f.fail_on = "sysctl net.ipv4";
    ApplyResult r = ApplyPlan(ConntrackPlan("net.netfilter.nf_conntrack_max"), "new", &f, [](const std::string&) {});
    REQUIRE_FALSE(r.ok);
    CHECK(f.calls == std::vector<std::string>{"modprobe nf_conntrack", "save", "commit new",
                                              "read-sysctl net.netfilter.nf_conntrack_max",
                                              "sysctl net.ipv4.ip_forward=1", "restore 3 objects"});
}

TEST_CASE("a sysctl still missing once its module is loaded fails apply at its line, and rolls back") {
    FakeSystem f;
    f.module_sysctls["nf_conntrack"] = {{"net.netfilter.nf_conntrack_max", "65536"}};
    ApplyResult r = ApplyPlan(ConntrackPlan("net.netfilter.nf_conntrack_maxx"), "new", &f, [](const std::string&) {});
    REQUIRE_FALSE(r.ok);
    CHECK(r.error ==
          "sysctl net.netfilter.nf_conntrack_maxx = 262144 (once nf_conntrack is loaded): no such setting in this "
          "kernel, even with nf_conntrack loaded (read net.netfilter.nf_conntrack_maxx: No such file or directory)");
    CHECK(r.error_line == 13);
    CHECK(r.failed == ActionKind::kSysctl);
    CHECK(r.rollback_failures.empty());
    // Nothing written; the ruleset put back; the module stays (a loaded
    // module harms nothing, as for [halt] modules).
    CHECK(f.calls == std::vector<std::string>{"modprobe nf_conntrack", "save", "commit new",
                                              "read-sysctl net.netfilter.nf_conntrack_maxx", "restore 3 objects"});
}
