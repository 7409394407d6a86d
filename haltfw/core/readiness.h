// Is the box fit to halt? Blockers are conditions under which the halted
// box would not go on filtering and forwarding as configured (a lease that
// will expire, a statement that waits for a daemon, a table that vanishes
// with its owner, a family forwarded with no chain on the forward hook);
// warnings are things a careful operator wants to know.
// Pure: everything it judges comes in as values.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "core/config.h"
#include "net/netstate.h"
#include "nft/nft_dump.h"
#include "core/plan.h"
#include "core/watchdogs.h"

namespace haltfw {

/// What halting with `rs` armed costs in memory, in KiB, at the moment the
/// final stage verifies it: the final stage and the ruleset watcher each
/// hold a dump of the live ruleset or the armed one (about 2 bytes a byte
/// of a set element and 24 more each, measured: 36 MB for the final stage
/// at 1,000,000 IPv4 elements), and the kernel holds the shutdown guard's
/// copy beside the user's, and a restore's batch and transaction while it
/// commits. An estimate, on the high side; pure. Check blocks a halt that
/// needs more than MemAvailable.
uint64_t HaltMemoryKib(const NftRuleset& rs);

struct ReadinessInputs {
    const Config* config = nullptr;
    const NetState* state = nullptr;
    const std::vector<ResolvedInterface>* interfaces = nullptr;
    /// The config's ruleset as the kernel holds it (live after apply, or a
    /// trial load); nullptr when it could not be read, with the reason in
    /// `ruleset_note`.
    const NftRuleset* ruleset = nullptr;
    std::string ruleset_note;
    /// What went wrong when that ruleset was put back over a flushed one in
    /// a scratch namespace, as the final stage would (TrialRestore); empty
    /// if it came back whole.
    std::string restore_problem;
    /// The live ruleset (may be another one than the config's).
    const NftRuleset* live = nullptr;
    /// Reads a live sysctl; false if it cannot (no IPv6 in the kernel, say).
    /// Whether a family forwards where the config's [sysctl] does not say.
    /// Unset: nothing is read, and such a family counts as absent.
    std::function<bool(const std::string& key, std::string* value)> read_sysctl;
    bool firewalld_installed = false;
    /// MemAvailable now, in KiB (0: unknown, not judged).
    uint64_t mem_available_kib = 0;
    bool networkmanager_installed = false;
    /// The hardware watchdogs (ReadWatchdogs).
    std::vector<Watchdog> watchdogs;
    /// The real-time clock the kernel set its clock from at boot
    /// (/sys/class/rtc/rtc0 with hctosys 1: its name); empty: none, or
    /// not read (rtc_read).
    std::string rtc;
    bool rtc_read = false;
};

struct Readiness {
    std::vector<std::string> blockers;
    std::vector<std::string> warnings;
    /// What was checked and found fine, a line each ('check --verbose').
    std::vector<std::string> fine;
    bool ready() const { return blockers.empty(); }
};

Readiness AssessReadiness(const ReadinessInputs& in);

}  // namespace haltfw
