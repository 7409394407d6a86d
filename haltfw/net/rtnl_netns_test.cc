// RtnlSocket against the real kernel. Run as root inside a private network
// namespace: `unshare --net rtnl_netns_tests`. Every test case first checks
// that it is not in the host's namespace, so it can never touch the host's
// network. Only documentation addresses are used; no traffic is sent.
#include "net/rtnl.h"
#include "net/net_addr_test_support.h"
#include "nft/netns_test_support.h"

#include <linux/if_addr.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include <catch2/catch.hpp>

using Catch::Matchers::Contains;
using Catch::Matchers::StartsWith;

namespace haltfw {
namespace {

// A veth pair for one test case (there is no dummy driver on the test host),
// deleted with its addresses and routes when the test case ends.
class Veth {
public:
    Veth(const std::string& a, const std::string& b) : a_(a) {
        Sh("ip link add " + a + " type veth peer name " + b);
    }
    ~Veth() {
        if (system(("ip link del " + a_ + " 2>/dev/null").c_str()) != 0) {
            // Already gone; nothing to clean.
        }
    }
    Veth(const Veth&) = delete;
    Veth& operator=(const Veth&) = delete;

private:
    std::string a_;
};

std::unique_ptr<RtnlSocket> OpenOrFail() {
    std::string err;
    std::unique_ptr<RtnlSocket> s = RtnlSocket::Open(&err);
    INFO(err);
    REQUIRE(s);
    return s;
}

NetState DumpOrFail(RtnlSocket& s) {
    NetState st;
    std::string err;
    bool ok = s.Dump(&st, &err);
    INFO(err);
    REQUIRE(ok);
    return st;
}

int IfIndex(RtnlSocket& s, const std::string& name) {
    NetState st = DumpOrFail(s);
    const Link* l = st.FindLink(name);
    REQUIRE(l);
    return l->index;
}

const Address* FindAddress(const NetState& st, int ifindex, const char* prefix) {
    for (const Address& a : st.addresses) {
        if (a.ifindex == ifindex && a.prefix == Pfx(prefix))
            return &a;
    }
    return nullptr;
}

std::vector<Route> RoutesTo(const NetState& st, const char* dst) {
    std::vector<Route> out;
    for (const Route& r : st.routes) {
        if (r.dst == Pfx(dst))
            out.push_back(r);
    }
    return out;
}

// Expects `ok` to be false and returns the error for matching.
std::string Refused(bool ok, const std::string& err) {
    CHECK_FALSE(ok);
    return err;
}

// The start of most test cases, as a fixture: Start(NAME) checks that the
// case runs in a private namespace, then opens a socket (`s`) and makes a
// veth pair NAMEa/NAMEb (deleted when the case ends), NAMEa's index in `idx`.
class VethCase {
protected:
    void Start(const std::string& name) {
        REQUIRE(InPrivateNetns());
        s = OpenOrFail();
        veth_.emplace(name + "a", name + "b");
        idx = IfIndex(*s, name + "a");
    }

    std::unique_ptr<RtnlSocket> s;
    int idx = 0;
    std::string err;

private:
    std::optional<Veth> veth_;
};

TEST_CASE("Dump reports links with name, index, MAC, MTU, flags and kind", "[rtnl]") {
    REQUIRE(InPrivateNetns());
    auto s = OpenOrFail();
    Veth veth("hfw0a", "hfw0b");
    Sh("ip link set hfw0a address 52:54:00:12:34:56 mtu 1450");

    NetState st = DumpOrFail(*s);
    const Link* lo = st.FindLink("lo");
    REQUIRE(lo);
    CHECK(lo->index == 1);
    CHECK(lo->kind.empty());
    CHECK((lo->flags & IFF_LOOPBACK) != 0);

    const Link* a = st.FindLink("hfw0a");
    REQUIRE(a);
    CHECK(a->kind == "veth");
    CHECK(a->mtu == 1450);
    CHECK_FALSE(a->up());
    REQUIRE(a->mac);
    CHECK(FormatMac(*a->mac) == "52:54:00:12:34:56");
    CHECK(st.FindLinkByMac(*ParseMac("52:54:00:12:34:56")) == a);
    CHECK(st.FindLinkByIndex(a->index) == a);

    const Link* b = st.FindLink("hfw0b");
    REQUIRE(b);
    CHECK(b->kind == "veth");
    CHECK(b->mtu == 1500);
    CHECK(b->index != a->index);
    CHECK(st.FindLink("nonexistent") == nullptr);
    CHECK(st.FindLinkByIndex(0) == nullptr);
}

TEST_CASE_METHOD(VethCase, "SetLinkUp and SetLinkMtu change only what they name", "[rtnl]") {
    Start("hfw1");

    REQUIRE(s->SetLinkUp(idx, true, &err));
    NetState st = DumpOrFail(*s);
    CHECK(st.FindLink("hfw1a")->up());
    CHECK((st.FindLink("hfw1a")->flags & IFF_MULTICAST) != 0);  // left alone
    CHECK_FALSE(st.FindLink("hfw1b")->up());

    REQUIRE(s->SetLinkMtu(idx, 1400, &err));
    st = DumpOrFail(*s);
    CHECK(st.FindLink("hfw1a")->mtu == 1400);
    CHECK(st.FindLink("hfw1a")->up());

    REQUIRE(s->SetLinkUp(idx, false, &err));
    st = DumpOrFail(*s);
    CHECK_FALSE(st.FindLink("hfw1a")->up());
    CHECK(st.FindLink("hfw1a")->mtu == 1400);
}

TEST_CASE_METHOD(VethCase, "Link errors carry the operation and the kernel's reason", "[rtnl]") {
    Start("hfw2");

    CHECK(Refused(s->SetLinkMtu(idx, 100000, &err), err) ==
          "RTM_NEWLINK ifindex " + std::to_string(idx) +
              " mtu 100000: mtu greater than device maximum (EINVAL)");
    err.clear();
    std::string e = Refused(s->SetLinkUp(999999, true, &err), err);
    CHECK_THAT(e, StartsWith("RTM_NEWLINK ifindex 999999 up: "));
    CHECK_THAT(e, Contains("(ENODEV)"));
    // The socket stays usable after a refusal.
    CHECK(DumpOrFail(*s).FindLink("hfw2a"));
}

TEST_CASE_METHOD(VethCase, "AddAddress and DelAddress, both families", "[rtnl]") {
    Start("hfw3");
    REQUIRE(s->SetLinkUp(idx, true, &err));

    REQUIRE(s->AddAddress(idx, Pfx("192.0.2.1/24"), false, &err));
    REQUIRE(s->AddAddress(idx, Pfx("2001:db8:3::1/64"), false, &err));
    NetState st = DumpOrFail(*s);
    for (const char* p : {"192.0.2.1/24", "2001:db8:3::1/64"}) {
        INFO(p);
        const Address* a = FindAddress(st, idx, p);
        REQUIRE(a);
        CHECK(a->valid_lft == kForever);
        CHECK(a->preferred_lft == kForever);
        CHECK_FALSE(a->finite());
        CHECK((a->flags & IFA_F_PERMANENT) != 0);
        CHECK(a->scope == RT_SCOPE_UNIVERSE);
    }
    // The kernel's connected route shows up in the main table.
    std::vector<Route> connected = RoutesTo(st, "192.0.2.0/24");
    REQUIRE(connected.size() == 1);
    CHECK(connected[0].protocol == RTPROT_KERNEL);
    CHECK(connected[0].oif == idx);

    std::string e = Refused(s->AddAddress(idx, Pfx("192.0.2.1/24"), false, &err), err);
    CHECK_THAT(e, StartsWith("RTM_NEWADDR 192.0.2.1/24 ifindex " + std::to_string(idx) + ": "));
    CHECK_THAT(e, Contains("(EEXIST)"));

    REQUIRE(s->DelAddress(idx, Pfx("192.0.2.1/24"), &err));
    REQUIRE(s->DelAddress(idx, Pfx("2001:db8:3::1/64"), &err));
    st = DumpOrFail(*s);
    CHECK_FALSE(FindAddress(st, idx, "192.0.2.1/24"));
    CHECK_FALSE(FindAddress(st, idx, "2001:db8:3::1/64"));

    e = Refused(s->DelAddress(idx, Pfx("192.0.2.1/24"), &err), err);
    CHECK_THAT(e, StartsWith("RTM_DELADDR 192.0.2.1/24 ifindex " + std::to_string(idx) + ": "));
    CHECK_THAT(e, Contains("(EADDRNOTAVAIL)"));
}

TEST_CASE_METHOD(VethCase, "Dump takes address flags above 8 bits from IFA_FLAGS", "[rtnl]") {
    Start("hfw9");
    Sh("ip addr add 203.0.113.1/24 dev hfw9a noprefixroute");

    NetState st = DumpOrFail(*s);
    const Address* a = FindAddress(st, idx, "203.0.113.1/24");
    REQUIRE(a);
    CHECK((a->flags & IFA_F_NOPREFIXROUTE) != 0);
    CHECK((a->flags & IFA_F_PERMANENT) != 0);
}

TEST_CASE_METHOD(VethCase, "AddAddress with replace makes a finite address permanent", "[rtnl]") {
    Start("hfw4");
    Sh("ip addr add 198.51.100.1/24 dev hfw4a valid_lft 300 preferred_lft 300");
    Sh("ip -6 addr add 2001:db8:4::1/64 dev hfw4a valid_lft 300 preferred_lft 300");

    const char* prefixes[] = {"198.51.100.1/24", "2001:db8:4::1/64"};
    NetState st = DumpOrFail(*s);
    for (const char* p : prefixes) {
        INFO(p);
        const Address* a = FindAddress(st, idx, p);
        REQUIRE(a);
        CHECK(a->finite());
        CHECK(a->valid_lft <= 300);
        CHECK(a->valid_lft > 0);
        CHECK(a->preferred_lft <= 300);
        CHECK((a->flags & IFA_F_PERMANENT) == 0);

        // Without replace the address is already there.
        CHECK_THAT(Refused(s->AddAddress(idx, Pfx(p), false, &err), err), Contains("(EEXIST)"));
        REQUIRE(s->AddAddress(idx, Pfx(p), true, &err));
    }
    st = DumpOrFail(*s);
    for (const char* p : prefixes) {
        INFO(p);
        const Address* a = FindAddress(st, idx, p);
        REQUIRE(a);
        CHECK(a->valid_lft == kForever);
        CHECK(a->preferred_lft == kForever);
        CHECK((a->flags & IFA_F_PERMANENT) != 0);
    }
}

TEST_CASE_METHOD(VethCase, "ReplaceRoute and DelRoute in the main table", "[rtnl]") {
    Start("hfw5");
    Sh("ip link set hfw5b up");
    REQUIRE(s->SetLinkUp(idx, true, &err));
    REQUIRE(s->AddAddress(idx, Pfx("192.0.2.1/24"), false, &err));
    REQUIRE(s->AddAddress(idx, Pfx("2001:db8:5::1/64"), false, &err));

    Route via{Pfx("203.0.113.0/24"), Ip("192.0.2.2"), idx, 100};
    Route onlink{Pfx("198.51.100.0/24"), std::nullopt, idx, 0};
    Route dflt{Pfx("0.0.0.0/0"), Ip("192.0.2.2"), 0, 0};
    Route v6{Pfx("2001:db8:6::/48"), Ip("2001:db8:5::2"), idx, 100};
    Route v4via6{Pfx("203.0.113.128/25"), Ip("2001:db8:5::2"), idx, 0};  // RTA_VIA
    for (const Route* r : {&via, &onlink, &dflt, &v6, &v4via6}) {
        INFO(FormatPrefix(r->dst));
        REQUIRE(s->ReplaceRoute(*r, &err));
    }

    NetState st = DumpOrFail(*s);
    std::vector<Route> found = RoutesTo(st, "203.0.113.0/24");
    REQUIRE(found.size() == 1);
    CHECK(found[0].gateway == Ip("192.0.2.2"));
    CHECK(found[0].oif == idx);
    CHECK(found[0].metric == 100);
    CHECK(found[0].protocol == RTPROT_STATIC);
    CHECK(found[0].scope == RT_SCOPE_UNIVERSE);
    CHECK(found[0].type == RTN_UNICAST);
    CHECK(found[0].table == RT_TABLE_MAIN);

    found = RoutesTo(st, "198.51.100.0/24");
    REQUIRE(found.size() == 1);
    CHECK_FALSE(found[0].gateway);
    CHECK(found[0].scope == RT_SCOPE_LINK);

    found = RoutesTo(st, "0.0.0.0/0");
    REQUIRE(found.size() == 1);
    CHECK(found[0].gateway == Ip("192.0.2.2"));
    CHECK(found[0].oif == idx);  // resolved by the kernel

    found = RoutesTo(st, "2001:db8:6::/48");
    REQUIRE(found.size() == 1);
    CHECK(found[0].gateway == Ip("2001:db8:5::2"));
    CHECK(found[0].metric == 100);

    found = RoutesTo(st, "203.0.113.128/25");
    REQUIRE(found.size() == 1);
    CHECK(found[0].gateway == Ip("2001:db8:5::2"));

    // Only main-table unicast routes: no local or broadcast routes for
    // 192.0.2.1, no IPv6 multicast route.
    for (const Route& r : st.routes) {
        CHECK(r.table == RT_TABLE_MAIN);
        CHECK(r.type == RTN_UNICAST);
    }
    CHECK(RoutesTo(st, "192.0.2.1/32").empty());

    // Replace changes the gateway in place rather than adding a second route.
    via.gateway = Ip("192.0.2.3");
    REQUIRE(s->ReplaceRoute(via, &err));
    found = RoutesTo(DumpOrFail(*s), "203.0.113.0/24");
    REQUIRE(found.size() == 1);
    CHECK(found[0].gateway == Ip("192.0.2.3"));

    for (const Route* r : {&via, &onlink, &dflt, &v6, &v4via6}) {
        INFO(FormatPrefix(r->dst));
        REQUIRE(s->DelRoute(*r, &err));
    }
    st = DumpOrFail(*s);
    for (const char* dst : {"203.0.113.0/24", "198.51.100.0/24", "0.0.0.0/0", "2001:db8:6::/48",
                            "203.0.113.128/25"})
        CHECK(RoutesTo(st, dst).empty());

    std::string e = Refused(s->DelRoute(via, &err), err);
    CHECK_THAT(e, StartsWith("RTM_DELROUTE 203.0.113.0/24 ifindex " + std::to_string(idx) +
                             " metric 100: "));
    CHECK_THAT(e, Contains("(ESRCH)"));
}

TEST_CASE_METHOD(VethCase, "IPv6 route metric 0 comes back as 1024", "[rtnl]") {
    Start("hfw6");
    REQUIRE(s->SetLinkUp(idx, true, &err));

    Route r{Pfx("2001:db8:7::/48"), std::nullopt, idx, 0};
    REQUIRE(s->ReplaceRoute(r, &err));
    std::vector<Route> found = RoutesTo(DumpOrFail(*s), "2001:db8:7::/48");
    REQUIRE(found.size() == 1);
    CHECK(found[0].metric == 1024);  // IP6_RT_PRIO_USER
    // Metric 0 deletes it all the same: 0 is the wildcard.
    REQUIRE(s->DelRoute(r, &err));
    CHECK(RoutesTo(DumpOrFail(*s), "2001:db8:7::/48").empty());
}

TEST_CASE_METHOD(VethCase, "A refused route carries the kernel's extack message", "[rtnl]") {
    Start("hfw7");
    REQUIRE(s->SetLinkUp(idx, true, &err));
    REQUIRE(s->AddAddress(idx, Pfx("192.0.2.1/24"), false, &err));
    REQUIRE(s->AddAddress(idx, Pfx("2001:db8:8::1/64"), false, &err));

    // No route to the gateway.
    Route unreachable{Pfx("203.0.113.0/24"), Ip("198.51.100.9"), 0, 0};
    CHECK(Refused(s->ReplaceRoute(unreachable, &err), err) ==
          "RTM_NEWROUTE 203.0.113.0/24 via 198.51.100.9: Nexthop has invalid gateway (ENETUNREACH)");

    // IPv6 refuses one of our own addresses as a gateway.
    Route own6{Pfx("2001:db8:9::/48"), Ip("2001:db8:8::1"), idx, 0};
    CHECK(Refused(s->ReplaceRoute(own6, &err), err) ==
          "RTM_NEWROUTE 2001:db8:9::/48 via 2001:db8:8::1 ifindex " + std::to_string(idx) +
              ": Gateway can not be a local address (EINVAL)");

    // Nothing was added, and the socket still works.
    NetState st = DumpOrFail(*s);
    CHECK(RoutesTo(st, "203.0.113.0/24").empty());
    CHECK(RoutesTo(st, "2001:db8:9::/48").empty());
}

TEST_CASE_METHOD(VethCase, "Dump reads multi-part dumps to the end", "[rtnl]") {
    Start("hfw8");
    REQUIRE(s->SetLinkUp(idx, true, &err));

    // Each address message is ~80 bytes and each route ~150, so these fill
    // several 32 KiB reads.
    constexpr int kAddrs = 500;
    for (int i = 0; i < kAddrs; ++i) {
        std::string a = (i < 250 ? "192.0.2." : "198.51.100.") + std::to_string(i % 250 + 1) + "/32";
        REQUIRE(s->AddAddress(idx, Pfx(a.c_str()), false, &err));
    }
    constexpr int kRoutes = 1500;
    for (int i = 0; i < kRoutes; ++i) {
        char dst[64];
        snprintf(dst, sizeof(dst), "2001:db8:a:%x::/64", i);
        REQUIRE(s->ReplaceRoute(Route{Pfx(dst), std::nullopt, idx, 0}, &err));
    }

    NetState st = DumpOrFail(*s);
    int addrs = 0;
    for (const Address& a : st.addresses)
        addrs += a.ifindex == idx && a.prefix.addr.family == AF_INET;
    CHECK(addrs == kAddrs);
    int routes = 0;
    for (const Route& r : st.routes)
        routes += r.oif == idx && Pfx("2001:db8:a::/48").contains(r.dst.addr);
    CHECK(routes == kRoutes);
}

TEST_CASE_METHOD(VethCase, "CreateBridge, SetMaster, SetBridgeOptions, LinkIndex and DeleteLink", "[rtnl]") {
    Start("hfw9");
    REQUIRE(s->CreateBridge("hfw9br", Link::BridgeOptions{0, 30000, 0}, &err));
    int br = 0;
    REQUIRE(s->LinkIndex("hfw9br", &br, &err));
    CHECK(br == IfIndex(*s, "hfw9br"));
    REQUIRE(s->SetMaster(idx, br, &err));
    NetState st = DumpOrFail(*s);
    const Link* b = st.FindLinkByIndex(br);
    REQUIRE(b);
    CHECK(b->kind == "bridge");
    CHECK_FALSE(b->up());  // created down
    REQUIRE(b->bridge);
    CHECK(*b->bridge == Link::BridgeOptions{0, 30000, 0});
    CHECK(st.FindLink("hfw9a")->master == br);
    CHECK(st.FindLink("hfw9b")->master == 0);

    REQUIRE(s->SetBridgeOptions(br, Link::BridgeOptions{0, 1000, 1}, &err));
    CHECK(*DumpOrFail(*s).FindLinkByIndex(br)->bridge == Link::BridgeOptions{0, 1000, 1});
    // A second bridge of the name, a loopback port: the kernel's refusals.
    CHECK_THAT(Refused(s->CreateBridge("hfw9br", {}, &err), err), StartsWith("RTM_NEWLINK bridge hfw9br: "));
    CHECK_THAT(Refused(s->SetMaster(1, br, &err), err), StartsWith("RTM_NEWLINK ifindex 1 master "));

    REQUIRE(s->SetMaster(idx, 0, &err));
    CHECK(DumpOrFail(*s).FindLink("hfw9a")->master == 0);
    REQUIRE(s->DeleteLink(br, &err));
    CHECK_THAT(Refused(s->LinkIndex("hfw9br", &br, &err), err), StartsWith("RTM_GETLINK hfw9br: "));
    CHECK_FALSE(DumpOrFail(*s).FindLink("hfw9br"));
}

}  // namespace
}  // namespace haltfw
