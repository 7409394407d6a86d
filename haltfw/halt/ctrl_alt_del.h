// What Ctrl-Alt-Del does to the halted firewall. One word, "ignore",
// "reboot" or "poweroff", in every place it crosses a program boundary:
// the manifest's "ctrl-alt-del WORD" line, haltfw-inert's
// `--ctrl-alt-del WORD`, the report's lockdown line and the INERT line.
// After reboot(RB_DISABLE_CAD) the kernel sends Ctrl-Alt-Del to PID 1 as
// SIGINT; the final stage (if it stays PID 1) and haltfw-inert both act
// on it through this header. Header only and allocation-free: haltfw-inert
// links no libstdc++.
#pragma once

#include <sys/reboot.h>

#include <initializer_list>
#include <string_view>

namespace haltfw {

enum class CtrlAltDelAction { kIgnore, kReboot, kPoweroff };

/// "ignore", "reboot", "poweroff".
constexpr const char* CtrlAltDelWord(CtrlAltDelAction a) {
    switch (a) {
        case CtrlAltDelAction::kReboot: return "reboot";
        case CtrlAltDelAction::kPoweroff: return "poweroff";
        case CtrlAltDelAction::kIgnore: break;
    }
    return "ignore";
}

/// The word back to the action; false (and *a untouched) for any other
/// text. The one parser of the word: the final stage reads the manifest's
/// with it, haltfw-inert its command line's.
constexpr bool ParseCtrlAltDel(std::string_view word, CtrlAltDelAction* a) {
    for (CtrlAltDelAction c : {CtrlAltDelAction::kIgnore, CtrlAltDelAction::kReboot, CtrlAltDelAction::kPoweroff}) {
        if (word == CtrlAltDelWord(c)) {
            *a = c;
            return true;
        }
    }
    return false;
}

/// What PID 1 says as it acts ("Ctrl-Alt-Del: rebooting"), and the
/// reboot(2) command it passes; nullptr and 0 for kIgnore.
constexpr const char* CtrlAltDelDoing(CtrlAltDelAction a) {
    return a == CtrlAltDelAction::kReboot ? "rebooting" : a == CtrlAltDelAction::kPoweroff ? "powering off" : nullptr;
}
constexpr int CtrlAltDelRebootCmd(CtrlAltDelAction a) {
    return a == CtrlAltDelAction::kReboot ? RB_AUTOBOOT : a == CtrlAltDelAction::kPoweroff ? RB_POWER_OFF : 0;
}

}  // namespace haltfw
