// Validation in n log n: 100,000 sections or keys within a
// generous bound. Before the fix 40,000 [interface] sections took 15.8 s
// (pairwise checks); the bound here is 10 s for work measured at well under
// one (docs/benchmarks.md), so only a return of the quadratic fails it.
#include <catch2/catch.hpp>
#include <linux/if.h>

#include <chrono>
#include <cstdio>
#include <string>

#include "core/config.h"
#include "core/plan.h"

using namespace haltfw;

namespace {

constexpr int kN = 100000;
constexpr double kBoundSeconds = 10.0;

std::string Hex(int v) {
    char b[16];
    std::snprintf(b, sizeof b, "%x", v);
    return b;
}

double Seconds(std::chrono::steady_clock::time_point since) {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - since).count();
}

// kN interfaces, each its own device, an IPv6 /64, an IPv4 /30, a next hop
// and a route: every per-interface and across-interface check has work.
std::string Interfaces(bool same_device) {
    std::string t = "[ruleset]\nfile = r.nft\n";
    t.reserve(size_t{kN} * 160);
    for (int i = 0; i < kN; ++i) {
        std::string v4 =
            "10." + std::to_string(i >> 14) + "." + std::to_string((i >> 6) & 255) + "." + std::to_string((i & 63) * 4);
        std::string a = std::to_string(i);
        t += "[interface.i" + a + "]\ndevice = " + (same_device ? std::string("eth0") : "d" + a) + "\n";
        t += "address = 2001:db8:" + Hex(i >> 16) + ":" + Hex(i & 0xffff) + "::1/64\n";
        t += "address = " + v4.substr(0, v4.rfind('.')) + "." + std::to_string((i & 63) * 4 + 1) + "/30\n";
        t += "route = 203.0." + std::to_string(i & 255) + "." + std::to_string(i >> 8 & 255) + "/32 via " +
             v4.substr(0, v4.rfind('.')) + "." + std::to_string((i & 63) * 4 + 2) + " metric " + a + "\n";
    }
    return t;
}

}  // namespace

TEST_CASE("scale: 100000 interface sections validate and plan well within the bound") {
    std::string text = Interfaces(false);
    auto t0 = std::chrono::steady_clock::now();
    Diagnostics d;
    Config c = ParseConfig(text, "haltfw.conf", &d);
    double s = Seconds(t0);
    INFO("validated 100,000 interface sections in " << s << " s");
    INFO(d.FormatErrors().substr(0, 2000));
    REQUIRE(d.ok());
    CHECK(c.interfaces.size() == size_t{kN});
    CHECK(s < kBoundSeconds);

    // The plan against a box that has every link, address and route.
    NetState live;
    for (int i = 0; i < kN; ++i) {
        live.links.push_back({i + 2, "d" + std::to_string(i), std::nullopt, 1500, IFF_UP, ""});
        for (const AddressSpec& a : c.interfaces[i].addresses) live.addresses.push_back({i + 2, a.prefix});
        for (const auto& [r, line] : WantedRoutes(c.interfaces[i], i + 2)) live.routes.push_back(r);
    }
    PlanInputs in;
    in.read_sysctl = [](const std::string&, std::string* v) { return *v = "0", true; };
    in.module_present = [](const std::string&) { return true; };
    in.ruleset_current = true;
    t0 = std::chrono::steady_clock::now();
    Plan p = ComputePlan(c, live, in);
    double ps = Seconds(t0);
    INFO("planned 100,000 interfaces in " << ps << " s");
    CHECK(p.problems.ok());
    CHECK(ps < kBoundSeconds);
}

TEST_CASE("scale: 100000 sections naming one device are reported once each within the bound") {
    std::string text = Interfaces(true);
    auto t0 = std::chrono::steady_clock::now();
    Diagnostics d;
    ParseConfig(text, "haltfw.conf", &d);
    double s = Seconds(t0);
    INFO("validated in " << s << " s");
    CHECK(d.errors().size() == size_t{kN - 1});
    CHECK(d.errors().back().Format() ==
          "haltfw.conf:" + std::to_string(3 + 5 * (kN - 1)) +
              ": interface 'i99999': device 'eth0' is already used by interface 'i0' (line 3)");
    CHECK(s < kBoundSeconds);
}

TEST_CASE("scale: 100000 sysctl keys validate well within the bound") {
    std::string text = "[ruleset]\nfile = r.nft\n[sysctl]\n";
    for (int i = 0; i < kN; ++i) text += "net.ipv4.conf.d" + std::to_string(i) + ".rp_filter = 01\n";
    auto t0 = std::chrono::steady_clock::now();
    Diagnostics d;
    Config c = ParseConfig(text, "haltfw.conf", &d);
    double s = Seconds(t0);
    INFO("validated 100,000 sysctl keys in " << s << " s");
    REQUIRE(d.ok());
    CHECK(c.sysctls.size() == DefaultSysctls().size() + kN);
    CHECK(c.sysctls.back().value == "1");
    CHECK(s < kBoundSeconds);
}

TEST_CASE("scale: 100000 gateway forwards validate well within the bound") {
    std::string text =
        "[interface.wan]\ndevice = eth0\naddress = 198.51.100.1/24\n[interface.lan]\ndevice = eth1\naddress = "
        "10.0.0.1/8\n"
        "[gateway]\nlan = lan\nwan = wan\n";
    for (int i = 0; i < kN / 2; ++i) {
        std::string host = "10.1." + std::to_string(i >> 8 & 255) + "." + std::to_string(i & 255);
        text += "forward = tcp " + std::to_string(i + 1) + " " + host + "\nforward = udp " + std::to_string(i + 1) +
                " " + host + "\n";
    }
    auto t0 = std::chrono::steady_clock::now();
    Diagnostics d;
    ParseConfig(text, "haltfw.conf", &d);
    double s = Seconds(t0);
    INFO("validated 100,000 forwards in " << s << " s");
    CHECK(d.ok());
    CHECK(s < kBoundSeconds);
}
