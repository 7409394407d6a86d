#include "core/watchdogs.h"

#include <catch2/catch.hpp>

#include "base/scratch_dir_test_support.h"

using namespace haltfw;

TEST_CASE("watchdogs are read from sysfs's class directory, in name order; none without one") {
    ScratchDir d;
    REQUIRE_FALSE(d.path.empty());
    d.Write("watchdog1/identity", "i6300ESB timer\n");
    d.Write("watchdog1/state", "active\n");
    d.Write("watchdog1/nowayout", "1\n");
    d.Write("watchdog1/timeout", "30\n");
    d.Write("watchdog0/identity", "iTCO_wdt\n");
    d.Write("watchdog0/state", "inactive\n");
    d.Write("watchdog0/nowayout", "0\n");
    // A driver that shows less: defaults.
    d.Write("watchdog2/identity", "softdog\n");
    d.Write("not-a-watchdog/state", "active\n");
    std::vector<Watchdog> w = ReadWatchdogs(d.path);
    REQUIRE(w.size() == 3);
    CHECK(w[0].name == "watchdog0");
    CHECK(w[0].identity == "iTCO_wdt");
    CHECK_FALSE(w[0].active);
    CHECK_FALSE(w[0].nowayout);
    CHECK(w[1].name == "watchdog1");
    CHECK(w[1].identity == "i6300ESB timer");
    CHECK(w[1].active);
    CHECK(w[1].nowayout);
    CHECK(w[1].timeout_s == 30);
    CHECK(w[2].identity == "softdog");
    CHECK_FALSE(w[2].active);
    CHECK(w[2].timeout_s == 0);
    CHECK(ReadWatchdogs(d.path + "/none").empty());
}
