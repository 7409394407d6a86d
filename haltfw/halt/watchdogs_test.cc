#include "halt/watchdogs.h"

#include <catch2/catch.hpp>

#include <algorithm>
#include <map>

#include "halt/report.h"

using namespace haltfw;

TEST_CASE("sysfs seconds: a plain decimal number, else 0") {
    CHECK(SysfsSeconds("30\n") == 30);
    CHECK(SysfsSeconds("10") == 10);
    CHECK(SysfsSeconds("2147483647\n") == 2147483647);
    CHECK(SysfsSeconds("2147483648\n") == 0);
    CHECK(SysfsSeconds("99999999999999999999\n") == 0);
    CHECK(SysfsSeconds("") == 0);
    CHECK(SysfsSeconds("\n") == 0);
    CHECK(SysfsSeconds("-1\n") == 0);
    CHECK(SysfsSeconds("+5\n") == 0);
    CHECK(SysfsSeconds("5 s\n") == 0);
    CHECK(SysfsSeconds("0x1e\n") == 0);
}

TEST_CASE("a sysfs device number reads MAJOR:MINOR, within the kernel's limits") {
    unsigned ma = 7, mi = 7;
    CHECK(ParseDevNumber("246:1\n", &ma, &mi));
    CHECK(ma == 246);
    CHECK(mi == 1);
    CHECK(ParseDevNumber("4095:1048575", &ma, &mi));
    CHECK(ma == 4095);
    CHECK(mi == 1048575);
    for (const char* bad : {"", "\n", "246", "246:", ":1", "246:1:2", "4096:0", "0:1048576", "a:1", "246 :1", "-1:1"}) {
        CAPTURE(bad);
        ma = mi = 7;
        CHECK_FALSE(ParseDevNumber(bad, &ma, &mi));
        CHECK(ma == 0);
        CHECK(mi == 0);
    }
}

namespace {

Watchdog Dog(const char* name, const char* identity, bool active, bool nowayout = false, int timeout = 30) {
    Watchdog w;
    w.name = name;
    w.identity = identity;
    w.active = active;
    w.nowayout = nowayout;
    w.timeout_s = timeout;
    w.major = 246;
    return w;
}

// The watchdogs as a fake kernel keeps them: the magic close stops one
// unless it has nowayout (or the fake is told it fails).
struct FakeWatchdogs : WatchdogDevices {
    std::vector<Watchdog> dogs;
    bool sysfs = true;
    std::vector<std::string> nodes;
    std::map<std::string, std::string> fail;  // name -> the error its magic close gives
    std::vector<std::string> closed;          // the names tried, in order
    int scans = 0;

    bool Scan(std::vector<Watchdog>* found, std::string* why) override {
        ++scans;
        if (!sysfs) {
            *why = "mount sysfs on /sys: Operation not permitted";
            return false;
        }
        *found = dogs;
        return true;
    }
    std::vector<std::string> Nodes() override { return nodes; }
    bool MagicClose(const Watchdog& w, std::string* err) override {
        closed.push_back(w.name);
        if (auto f = fail.find(w.name); f != fail.end()) {
            *err = f->second;
            return false;
        }
        for (Watchdog& d : dogs)
            if (d.name == w.name && !d.nowayout) d.active = false;
        return true;
    }
};

}  // namespace

TEST_CASE("only a running watchdog is opened for the magic close, and its state is read again") {
    FakeWatchdogs f;
    // Opening one that does not run would start it.
    f.dogs = {Dog("watchdog0", "i6300ESB timer", false), Dog("watchdog1", "i6300ESB timer", true),
              Dog("watchdog2", "iTCO_wdt", false)};
    std::vector<WatchdogOutcome> o = StopRunningWatchdogs(&f);
    CHECK(f.closed == std::vector<std::string>{"watchdog1"});
    CHECK(f.scans == 2);
    REQUIRE(o.size() == 3);
    CHECK_FALSE(o[0].tried);
    CHECK(o[1].tried);
    CHECK(o[1].error.empty());
    CHECK(o[1].found.active);  // as it was found
    CHECK_FALSE(o[1].active_after);
    CHECK(std::all_of(o.begin(), o.end(), WatchdogQuiet));
    CHECK(WatchdogReportLines(o) == std::vector<std::string>{
                                        "watchdog: watchdog0 (i6300ESB timer) not running",
                                        "watchdog: watchdog1 (i6300ESB timer) stopped with the magic close",
                                        "watchdog: watchdog2 (iTCO_wdt) not running",
                                    });

    // Nothing runs: nothing is opened, sysfs is read once.
    FakeWatchdogs idle;
    idle.dogs = {Dog("watchdog0", "", false)};
    CHECK(WatchdogReportLines(StopRunningWatchdogs(&idle)) ==
          std::vector<std::string>{"watchdog: watchdog0 not running"});
    CHECK(idle.closed.empty());
    CHECK(idle.scans == 1);
}

TEST_CASE("no watchdog: one line that says so") {
    FakeWatchdogs f;
    std::vector<WatchdogOutcome> o = StopRunningWatchdogs(&f);
    CHECK(o.empty());
    CHECK(WatchdogReportLines(o) == std::vector<std::string>{"watchdog: none"});
}

TEST_CASE("a watchdog that runs on after the magic close fails the halt, and its line says so") {
    FakeWatchdogs f;
    f.dogs = {Dog("watchdog0", "i6300ESB timer", true, true, 10), Dog("watchdog1", "softdog", true, true, 0),
              Dog("watchdog2", "iTCO_wdt", true, false, 30), Dog("watchdog3", "Software Watchdog", true)};
    f.fail["watchdog2"] = "open /.watchdog: Device or resource busy";
    std::vector<WatchdogOutcome> o = StopRunningWatchdogs(&f);
    CHECK(f.closed == std::vector<std::string>{"watchdog0", "watchdog1", "watchdog2", "watchdog3"});
    REQUIRE(o.size() == 4);
    CHECK_FALSE(WatchdogQuiet(o[0]));
    CHECK_FALSE(WatchdogQuiet(o[1]));
    CHECK_FALSE(WatchdogQuiet(o[2]));
    CHECK(WatchdogQuiet(o[3]));
    CHECK(WatchdogReportLines(o) ==
          std::vector<std::string>{
              "watchdog: watchdog0 (i6300ESB timer) cannot be stopped (nowayout): the box resets in 10 s",
              "watchdog: watchdog1 (softdog) cannot be stopped (nowayout): the box resets when its timeout runs out",
              "watchdog: watchdog2 (iTCO_wdt) running; its magic close FAILED: open /.watchdog: Device or resource "
              "busy; the box resets in 30 s",
              "watchdog: watchdog3 (Software Watchdog) stopped with the magic close",
          });

    // A driver that took the 'V' and runs on all the same.
    WatchdogOutcome stubborn;
    stubborn.found = Dog("watchdog0", "iTCO_wdt", true, false, 30);
    stubborn.tried = stubborn.active_after = true;
    CHECK_FALSE(WatchdogQuiet(stubborn));
    CHECK(WatchdogReportLines({stubborn}) ==
          std::vector<std::string>{"watchdog: watchdog0 (iTCO_wdt) STILL RUNNING after the magic close: the box "
                                   "resets in 30 s"});
}

TEST_CASE("a watchdog that sysfs no longer lists after the try counts as still running") {
    struct Vanishing : FakeWatchdogs {
        bool MagicClose(const Watchdog& w, std::string* err) override {
            bool ok = FakeWatchdogs::MagicClose(w, err);
            dogs.clear();
            return ok;
        }
    } f;
    f.dogs = {Dog("watchdog0", "i6300ESB timer", true)};
    std::vector<WatchdogOutcome> o = StopRunningWatchdogs(&f);
    REQUIRE(o.size() == 1);
    CHECK(o[0].active_after);
    CHECK_FALSE(WatchdogQuiet(o[0]));
}

TEST_CASE("without sysfs nothing is opened: each /dev node's state is unknown, which fails the halt") {
    FakeWatchdogs f;
    f.sysfs = false;
    f.dogs = {Dog("watchdog0", "i6300ESB timer", true)};
    f.nodes = {"/dev/watchdog", "/dev/watchdog0"};
    std::vector<WatchdogOutcome> o = StopRunningWatchdogs(&f);
    CHECK(f.closed.empty());
    REQUIRE(o.size() == 2);
    CHECK_FALSE(WatchdogQuiet(o[0]));
    CHECK(WatchdogReportLines(o) ==
          std::vector<std::string>{
              "watchdog: /dev/watchdog: its state cannot be read (mount sysfs on /sys: Operation not permitted); left "
              "alone",
              "watchdog: /dev/watchdog0: its state cannot be read (mount sysfs on /sys: Operation not permitted); left "
              "alone",
          });
    f.nodes.clear();
    o = StopRunningWatchdogs(&f);
    REQUIRE(o.size() == 1);
    CHECK_FALSE(WatchdogQuiet(o[0]));
    CHECK(WatchdogReportLines(o) == std::vector<std::string>{"watchdog: none seen, but sysfs cannot be read (mount "
                                                             "sysfs on /sys: Operation not permitted)"});
}

TEST_CASE("verify-console accepts the watchdog lines of a quiet halt and names each that fails") {
    const std::string digest = "e15c3fb957cb389075e862bdf02030b4874556a42bc8a5d0c07fa817a94c1a8d";
    auto report = [&](std::vector<std::string> watchdog_lines) {
        HaltReport r;
        r.version = "0.1.0";
        r.ok = true;
        r.lines = {"processes: none but PID 1 (31 kernel threads)", "swap: off"};
        r.lines.insert(r.lines.end(), watchdog_lines.begin(), watchdog_lines.end());
        r.lines.push_back("ruleset: digest " + digest + " as armed (41 objects)");
        r.fields = {{"digest", digest}};
        return WhyNotProven(ParseConsole(FormatReport(r)), digest);
    };
    FakeWatchdogs quiet;
    quiet.dogs = {Dog("watchdog0", "i6300ESB timer", false), Dog("watchdog1", "i6300ESB timer", true)};
    CHECK(report(WatchdogReportLines(StopRunningWatchdogs(&quiet))) == "");
    CHECK(report(WatchdogReportLines({})) == "");

    FakeWatchdogs loud;
    loud.sysfs = false;
    loud.nodes = {"/dev/watchdog0"};
    std::vector<WatchdogOutcome> o = StopRunningWatchdogs(&loud);
    loud.sysfs = true;
    loud.dogs = {Dog("watchdog0", "i6300ESB timer", true, true, 10), Dog("watchdog1", "iTCO_wdt", true)};
    loud.fail["watchdog1"] = "open /.watchdog: No such device";
    std::vector<WatchdogOutcome> more = StopRunningWatchdogs(&loud);
    o.insert(o.end(), more.begin(), more.end());
    WatchdogOutcome stubborn;
    stubborn.found = Dog("watchdog2", "iTCO_wdt", true);
    stubborn.tried = stubborn.active_after = true;
    o.push_back(stubborn);
    for (const std::string& line : WatchdogReportLines(o)) {
        CAPTURE(line);
        CHECK(report({line}) == "the report's body says '" + line + "'");
    }
}
