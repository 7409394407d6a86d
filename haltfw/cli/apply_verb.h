// apply: bring the live state to the config, all or nothing (core/apply.h),
// as the apply verb and as the first step of arm.
#pragma once

#include <string>

#include "arm/change_window.h"
#include "cli/live_state.h"
#include "cli/verbs.h"
#include "core/config.h"

namespace haltfw::cli {

/// apply. *cfg and *program get the config it applied; with `wait_devices`
/// it first waits up to that many seconds for the configured devices (arm
/// at boot). Its changes happen inside `window` (held signals, the
/// journal), which it opens and leaves open for the verb to close.
/// With `unchanged_live`, a run that succeeds hands over the live state it
/// read (with the ruleset, if it read one: a run that found nothing to
/// change did, to compare digests; one that loaded it, to record it); one
/// that found nothing to change sets `*unchanged` true. Returns an exit code.
int ApplyConfig(const Globals& g, bool dry_run, int wait_devices, Config* cfg, std::string* program,
                ChangeWindow* window, Live* unchanged_live = nullptr, bool* unchanged = nullptr);

}  // namespace haltfw::cli
