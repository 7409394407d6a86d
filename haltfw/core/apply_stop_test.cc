// ApplyPlan asked to stop halfway (a signal held): the shorter way to a
// whole state, and nothing split.
#include <catch2/catch.hpp>

#include "core/apply.h"

using namespace haltfw;

namespace {

// Records the calls; fails none.
class RecordingSystem : public System {
public:
    std::vector<std::string> calls;

    bool Do(const std::string& call) {
        calls.push_back(call);
        return true;
    }
    bool SetLinkMtu(int, uint32_t m, std::string*) override { return Do("mtu " + std::to_string(m)); }
    bool SetLinkUp(int, bool up, std::string*) override { return Do(up ? "up" : "down"); }
    bool AddAddress(int, const Prefix& p, bool, std::string*) override { return Do("add-addr " + FormatPrefix(p)); }
    bool DelAddress(int, const Prefix& p, std::string*) override { return Do("del-addr " + FormatPrefix(p)); }
    bool ReplaceRoute(const Route& r, std::string*) override { return Do("route " + FormatPrefix(r.dst)); }
    bool DelRoute(const Route& r, std::string*) override { return Do("del-route " + FormatPrefix(r.dst)); }
    bool LoadModule(const std::string& n, std::string*) override { return Do("modprobe " + n); }
    bool WriteSysctl(const std::string& k, const std::string& v, std::string*) override {
        return Do("sysctl " + k + "=" + v);
    }
    bool ReadSysctl(const std::string& k, std::string* v, std::string*) override {
        *v = "0";
        return Do("read-sysctl " + k);
    }
    bool SaveRuleset(NftRuleset*, std::string*) override { return Do("save"); }
    bool RestoreRuleset(const NftRuleset&, std::string*) override { return Do("restore"); }
    bool CommitRuleset(const std::string&, std::string*) override { return Do("commit"); }
    bool CreateBridge(const std::string& n, const Link::BridgeOptions&, std::string*) override {
        return Do("create-bridge " + n);
    }
    bool SetBridgeOptions(int, const Link::BridgeOptions&, std::string*) override { return Do("bridge-options"); }
    bool CreateVlan(const std::string& n, int, uint16_t, std::string*) override { return Do("create-vlan " + n); }
    bool SetMaster(int, int, std::string*) override { return Do("master"); }
    bool DeleteLink(int, std::string*) override { return Do("delete"); }
    bool LinkIndex(const std::string&, int* i, std::string*) override {
        *i = 100;
        return true;
    }
    bool CreateWireguard(const std::string& n, std::string*) override { return Do("create-wireguard " + n); }
    bool SetWireguard(const WgDevice& d, std::string*) override { return Do("wireguard " + d.name); }
};

Action AddressAction(const std::string& p) {
    Action a{ActionKind::kAddAddress, "add " + p};
    a.ifindex = 2;
    a.prefix = *ParsePrefix(p, true);
    return a;
}

Action Sysctl(const std::string& k) {
    Action a{ActionKind::kSysctl, "sysctl " + k};
    a.name = k, a.value = "1", a.previous_value = "0";
    return a;
}

// The order ComputePlan gives: ruleset, links, addresses, routes, sysctls.
Plan RulesetThenAddresses(int addresses) {
    Plan p;
    p.actions.push_back({ActionKind::kRuleset, "ruleset"});
    for (int i = 1; i <= addresses; ++i) p.actions.push_back(AddressAction("192.0.2." + std::to_string(i) + "/24"));
    p.actions.push_back(Sysctl("net.ipv4.ip_forward"));
    return p;
}

// A stop that says yes from the `n`th time it is asked on.
std::function<bool()> StopAt(int n) {
    auto asked = std::make_shared<int>(0);
    return [asked, n] { return ++*asked >= n; };
}

}  // namespace

TEST_CASE("the shorter way: a ruleset transaction outweighs any number of requests") {
    Plan p = RulesetThenAddresses(200);
    using K = ActionKind;
    // Before anything: nothing to undo.
    CHECK(ShorterWay(p.actions, 0, {}) == StopWay::kRollBack);
    // The ruleset committed: undoing it is a reload; finishing is 201 requests.
    CHECK(ShorterWay(p.actions, 1, {K::kRuleset}) == StopWay::kFinish);
    CHECK(ShorterWay(p.actions, 150, std::vector<K>(1, K::kRuleset)) == StopWay::kFinish);
    // No ruleset either way: fewer requests wins, a tie rolls back.
    std::vector<K> done(3, K::kAddAddress);
    CHECK(ShorterWay(p.actions, 200, done) == StopWay::kFinish);    // 2 left against 3 done
    CHECK(ShorterWay(p.actions, 199, done) == StopWay::kRollBack);  // 3 against 3
    CHECK(ShorterWay(p.actions, 0, done) == StopWay::kRollBack);    // the ruleset still ahead
}

TEST_CASE("stopped before the first change: nothing done, nothing undone") {
    RecordingSystem sys;
    Plan p = RulesetThenAddresses(3);
    ApplyResult r = ApplyPlan(p, "prog", &sys, [](const std::string&) {}, StopAt(1));
    CHECK_FALSE(r.ok);
    CHECK(r.stopped);
    CHECK(r.error == "stopped before 'ruleset'");
    CHECK(sys.calls.empty());
}

TEST_CASE("stopped after the ruleset: finished, and asked no more") {
    RecordingSystem sys;
    Plan p = RulesetThenAddresses(3);
    int asked = 0;
    std::vector<std::string> lines;
    ApplyResult r = ApplyPlan(
        p, "prog", &sys, [&](const std::string& s) { lines.push_back(s); }, [&] { return ++asked >= 2; });
    CHECK(r.ok);
    CHECK_FALSE(r.stopped);
    CHECK(asked == 2);
    CHECK(sys.calls == std::vector<std::string>{"save", "commit", "add-addr 192.0.2.1/24", "add-addr 192.0.2.2/24",
                                                "add-addr 192.0.2.3/24", "sysctl net.ipv4.ip_forward=1"});
    CHECK(lines[1] == "stopping: finishing the last 4 of 5 changes is shorter than rolling back");
}

TEST_CASE("stopped with more done than left, no ruleset: finished; else rolled back") {
    Plan p;
    for (int i = 1; i <= 4; ++i) p.actions.push_back(AddressAction("192.0.2." + std::to_string(i) + "/24"));
    SECTION("three done, one left") {
        RecordingSystem sys;
        ApplyResult r = ApplyPlan(p, "", &sys, [](const std::string&) {}, StopAt(4));
        CHECK(r.ok);
        CHECK(sys.calls.size() == 4);
    }
    SECTION("one done, three left") {
        RecordingSystem sys;
        ApplyResult r = ApplyPlan(p, "", &sys, [](const std::string&) {}, StopAt(2));
        CHECK_FALSE(r.ok);
        CHECK(r.stopped);
        CHECK(r.error == "stopped before 'add 192.0.2.2/24'");
        CHECK(r.rollback_failures.empty());
        CHECK(sys.calls == std::vector<std::string>{"add-addr 192.0.2.1/24", "del-addr 192.0.2.1/24"});
    }
}
