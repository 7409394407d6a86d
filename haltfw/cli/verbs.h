// The verbs of the haltfw CLI, each a handler in the verb table
// (haltfw_main.cc): what a handler gets (the global options, its own
// options parsed, the change window of its run), what it gives back (an
// exit code) and where it says things (log.h).
#pragma once

#include <optional>
#include <string>

#include "arm/change_window.h"
#include "arm/say.h"
#include "cli/log.h"
#include "core/config.h"

#ifndef HALTFW_FINAL_PATH
#define HALTFW_FINAL_PATH "/usr/lib/haltfw/haltfw-final"
#endif
#ifndef HALTFW_INERT_PATH
#define HALTFW_INERT_PATH "/usr/lib/haltfw/haltfw-inert"
#endif

namespace haltfw::cli {

/// Exit codes: haltfw_main.cc's opening comment says what each means.
enum Exit { kOk = 0, kNotReady = 1, kBadInput = 2, kSystem = 3 };

/// The options before the verb.
struct Globals {
    std::string config = kDefaultConfigPath;
    bool config_given = false;  ///< --config on the command line: verify-console judges against it only then.
    bool quiet = false;
    bool verbose = false;
};

/// A verb's own options, parsed; only those the verb has are ever set.
struct VerbArgs {
    bool dry_run = false;                     ///< apply --dry-run
    bool no_wait = false;                     ///< --no-wait (the run lock's, haltfw_main.cc)
    bool dump = false;                        ///< digest --dump
    std::optional<std::string> final_stage;   ///< arm, halt --final
    int wait_devices = 0;                     ///< arm, halt --wait-devices
    std::optional<std::string> digest;        ///< verify-console --digest
    std::optional<std::string> file;          ///< verify-console FILE (or --file)
};

/// Runs a verb; returns its exit code. Its changes (if any) happen inside
/// `window`, which it opens and leaves open for haltfw_main.cc to close.
using VerbHandler = int (*)(const Globals& g, const VerbArgs& args, ChangeWindow* window);

int CheckVerb(const Globals& g, const VerbArgs& args, ChangeWindow* window);
int ApplyVerb(const Globals& g, const VerbArgs& args, ChangeWindow* window);
int StatusVerb(const Globals& g, const VerbArgs& args, ChangeWindow* window);
int DigestVerb(const Globals& g, const VerbArgs& args, ChangeWindow* window);
int ShowRulesetVerb(const Globals& g, const VerbArgs& args, ChangeWindow* window);
int ArmVerb(const Globals& g, const VerbArgs& args, ChangeWindow* window);
int DisarmVerb(const Globals& g, const VerbArgs& args, ChangeWindow* window);
int HaltVerb(const Globals& g, const VerbArgs& args, ChangeWindow* window);
int WatchVerb(const Globals& g, const VerbArgs& args, ChangeWindow* window);
int VerifyConsoleVerb(const Globals& g, const VerbArgs& args, ChangeWindow* window);

/// Where everything haltfw says goes: set from --quiet/--verbose and
/// $JOURNAL_STREAM once the command line is read (haltfw_main.cc).
extern Log out;

inline void Progress(const std::string& s) { out.Say(Priority::kInfo, s); }
inline void Warn(const std::string& s) { out.Say(Priority::kWarning, s); }
inline void Fail(const std::string& s) { out.Say(Priority::kErr, s); }
/// A line of the arm layer's (arm/say.h), said at its tone's priority.
void SayLine(Tone tone, const std::string& s);

}  // namespace haltfw::cli
