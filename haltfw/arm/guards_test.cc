#include "arm/guards.h"

#include <catch2/catch.hpp>

using namespace haltfw;

namespace {

GuardFacts AllPresent(bool flushes) {
    GuardFacts f;
    f.present = {"nftables.service", "networking.service", "ifup@.service", "netfilter-persistent.service",
                 "wg-quick@.service"};
    f.netfilter_persistent_flushes = flushes;
    return f;
}

// A guard drop-in's whole text, `why` saying what the unit's stop would do.
std::string GuardText(const std::string& why) {
    return "# Written by 'haltfw arm', removed by 'haltfw disarm' (see haltfw(8)).\n"
           "# Keeps the firewall in place through the halt: " + why + "\n"
           "[Service]\n"
           "ExecStop=\n";
}

}  // namespace

TEST_CASE("guards: the drop-in for nftables.service empties ExecStop, with the reason") {
    GuardFacts f;
    f.present = {"nftables.service"};
    std::vector<DropIn> d = GuardDropIns(f, "/run/systemd/system");
    REQUIRE(d.size() == 1);
    CHECK(d[0].unit == "nftables.service");
    CHECK(d[0].path == "/run/systemd/system/nftables.service.d/50-haltfw.conf");
    CHECK(d[0].content == GuardText("its ExecStop ('nft flush ruleset') would flush the ruleset the halted firewall "
                                    "forwards with."));
}

TEST_CASE("guards: ifupdown's units, netfilter-persistent with FLUSH_ON_STOP=1, wg-quick") {
    std::vector<DropIn> d = GuardDropIns(AllPresent(true), "/x");
    REQUIRE(d.size() == 5);
    CHECK(d[1].path == "/x/networking.service.d/50-haltfw.conf");
    CHECK(d[1].content == GuardText("its ExecStop ('ifdown -a') would deconfigure the interfaces the halted firewall "
                                    "forwards on."));
    // A template's drop-in applies to every instance (ifup@eth0.service...).
    CHECK(d[2].path == "/x/ifup@.service.d/50-haltfw.conf");
    CHECK(d[2].content == GuardText("its ExecStop ('ifdown %I') would deconfigure each hotplugged interface."));
    CHECK(d[3].path == "/x/netfilter-persistent.service.d/50-haltfw.conf");
    CHECK(d[3].content == GuardText("FLUSH_ON_STOP=1: its ExecStop would flush the ruleset."));
    // wireguard-tools' template: 'wg-quick down wg0' deletes wg0 at stop.
    CHECK(d[4].path == "/x/wg-quick@.service.d/50-haltfw.conf");
    CHECK(d[4].content == GuardText("its ExecStop ('wg-quick down %i') would delete each WireGuard device the halted "
                                    "firewall tunnels with."));
}

TEST_CASE("guards: netfilter-persistent without FLUSH_ON_STOP=1 and absent units get none") {
    std::vector<DropIn> d = GuardDropIns(AllPresent(false), "/x");
    REQUIRE(d.size() == 4);
    CHECK(d[2].unit == "ifup@.service");
    CHECK(d[3].unit == "wg-quick@.service");
    CHECK(GuardDropIns(GuardFacts{}, "/x").empty());
}

TEST_CASE("guards: FLUSH_ON_STOP as the netfilter-persistent script reads it") {
    CHECK_FALSE(ParseFlushOnStop(""));
    CHECK_FALSE(ParseFlushOnStop("# Debian's default\nFLUSH_ON_STOP=0\n"));
    CHECK(ParseFlushOnStop("FLUSH_ON_STOP=1\n"));
    CHECK(ParseFlushOnStop("FLUSH_ON_STOP=\"1\"\n"));
    CHECK(ParseFlushOnStop("  export FLUSH_ON_STOP='1'  \n"));
    CHECK_FALSE(ParseFlushOnStop("#FLUSH_ON_STOP=1\n"));
    CHECK_FALSE(ParseFlushOnStop("FLUSH_ON_STOP=1\nFLUSH_ON_STOP=0\n"));  // the last one wins
    CHECK_FALSE(ParseFlushOnStop("FLUSH_ON_STOP=yes\n"));               // the script tests for "1"
}

TEST_CASE("guards: firewalld's CleanupOnExit defaults to yes; no and false (any case) turn it off") {
    bool set = true;
    CHECK(ParseCleanupOnExit("DefaultZone=public\n", &set));
    CHECK_FALSE(set);
    CHECK(ParseCleanupOnExit("CleanupOnExit=yes\n", &set));
    CHECK(set);
    CHECK_FALSE(ParseCleanupOnExit("CleanupOnExit=no\n", &set));
    CHECK_FALSE(ParseCleanupOnExit("CleanupOnExit = False\r\n", &set));
    CHECK(ParseCleanupOnExit("# CleanupOnExit=no\nCleanupOnExit=maybe\n", &set));
}

TEST_CASE("guards: firewalld that cleans up on exit blocks arming; not installed or CleanupOnExit=no does not") {
    GuardFacts f;
    CHECK(GuardBlockers(f).empty());
    f.firewalld_installed = true;
    REQUIRE(GuardBlockers(f).size() == 1);
    CHECK(GuardBlockers(f)[0] ==
          "firewalld is installed and its CleanupOnExit is yes (the default: /etc/firewalld/firewalld.conf does not "
          "set it): "
          "when firewalld stops at the halt it flushes the ruleset and sets every policy to ACCEPT; set "
          "CleanupOnExit=no in "
          "/etc/firewalld/firewalld.conf or remove firewalld");
    f.firewalld_cleanup_set = true;
    CHECK(GuardBlockers(f)[0].rfind("firewalld is installed and its CleanupOnExit is yes: when", 0) == 0);
    f.firewalld_cleanup = false;
    CHECK(GuardBlockers(f).empty());
}
