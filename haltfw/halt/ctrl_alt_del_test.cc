#include "halt/ctrl_alt_del.h"

#include <catch2/catch.hpp>

#include <string>

using namespace haltfw;

TEST_CASE("Ctrl-Alt-Del: each action's word parses back to it, and nothing else parses") {
    for (CtrlAltDelAction a : {CtrlAltDelAction::kIgnore, CtrlAltDelAction::kReboot, CtrlAltDelAction::kPoweroff}) {
        CtrlAltDelAction back = a == CtrlAltDelAction::kIgnore ? CtrlAltDelAction::kReboot : CtrlAltDelAction::kIgnore;
        REQUIRE(ParseCtrlAltDel(CtrlAltDelWord(a), &back));
        CHECK(back == a);
    }
    // The manifest's and the command line's words, as they have always been.
    CHECK(std::string(CtrlAltDelWord(CtrlAltDelAction::kIgnore)) == "ignore");
    CHECK(std::string(CtrlAltDelWord(CtrlAltDelAction::kReboot)) == "reboot");
    CHECK(std::string(CtrlAltDelWord(CtrlAltDelAction::kPoweroff)) == "poweroff");
    CtrlAltDelAction a = CtrlAltDelAction::kReboot;
    for (const char* bad : {"", "halt", "Reboot", "reboot ", "power-off", "ignore\n"}) {
        INFO(bad);
        CHECK_FALSE(ParseCtrlAltDel(bad, &a));
        CHECK(a == CtrlAltDelAction::kReboot);  // untouched
    }
}

TEST_CASE("Ctrl-Alt-Del: what PID 1 does and says for each action") {
    CHECK(CtrlAltDelDoing(CtrlAltDelAction::kIgnore) == nullptr);
    CHECK(CtrlAltDelRebootCmd(CtrlAltDelAction::kIgnore) == 0);
    CHECK(std::string(CtrlAltDelDoing(CtrlAltDelAction::kReboot)) == "rebooting");
    CHECK(CtrlAltDelRebootCmd(CtrlAltDelAction::kReboot) == RB_AUTOBOOT);
    CHECK(std::string(CtrlAltDelDoing(CtrlAltDelAction::kPoweroff)) == "powering off");
    CHECK(CtrlAltDelRebootCmd(CtrlAltDelAction::kPoweroff) == RB_POWER_OFF);
    static_assert(CtrlAltDelRebootCmd(CtrlAltDelAction::kIgnore) == 0, "usable at compile time");
}
