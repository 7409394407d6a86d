// haltfw: the command-line tool. A thin layer over the library: parse the
// command line, look the verb up in the verb table, run its handler under
// the run lock (one_at_a_time.h), map the outcome to an exit code. Each
// handler is a short sequence of library calls (verbs.h); the decisions
// live in the library.
//
// Exit codes (haltfw(8)):
//   0  success; for check: ready to halt
//   1  check, arm, halt: not ready (blockers); apply, arm: failed and rolled back;
//      status: live state differs; verify-console: HALTED-FAIL, a truncated report, or a
//      HALTED-OK one that proves nothing (report.h: WhyNotProven)
//   2  bad configuration, bad ruleset or bad command line: nothing changed;
//      verify-console: no report in the log
//   3  system error: the system could not be read or changed, or a rollback or undo was
//      incomplete; halt: systemd is not running
//   128+N  apply, arm, disarm, halt: signal N arrived while they changed the state; they
//      finished the shorter way to a whole state first, and said which
#include <sys/prctl.h>
#include <boost/program_options.hpp>

#include <algorithm>
#include <iterator>
#include <optional>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include "arm/change_window.h"
#include "arm/run_lock.h"
#include "cli/log.h"
#include "cli/one_at_a_time.h"
#include "cli/verbs.h"

namespace po = boost::program_options;

namespace haltfw::cli {

Log out;

void SayLine(Tone tone, const std::string& s) {
    switch (tone) {
    case Tone::kDetail: out.Say(Priority::kDebug, s); return;
    case Tone::kProgress: out.Say(Priority::kInfo, s); return;
    case Tone::kWarning: out.Say(Priority::kWarning, s); return;
    case Tone::kError: out.Say(Priority::kErr, s); return;
    }
}

namespace {

// A verb's options besides --help, in the order its --help lists them.
enum VerbOption : unsigned {
    kDryRun = 1,      ///< --dry-run: then the verb changes nothing, and takes no lock.
    kNoWait = 2,      ///< --no-wait: for the run lock.
    kDump = 4,        ///< --dump
    kFinalStage = 8,  ///< --final, --wait-devices
    kConsole = 16,    ///< --digest, --file or FILE alone
};

// What a verb does about other haltfw runs (one_at_a_time.h).
enum class Locking {
    kTakes,    ///< It changes state: it takes the run lock first.
    kNotices,  ///< It only reads: it says when another run is changing what it reads.
    kNone,     ///< It reads neither the config nor the kernel (verify-console).
};

// One row of the verb table: --help's verb list, each verb's options and
// help, and `haltfw --list-verbs` (the bash completion's verbs) all come
// from it.
struct Verb {
    const char* name;
    const char* help;  ///< Its line in --help; a '\n' continues it on the next line.
    VerbHandler run;
    unsigned options = 0;
    Locking locking = Locking::kNotices;
    bool for_users = true;  ///< Offered by the bash completion.
    const char* synopsis = "[OPTIONS]";
    const char* about = "";  ///< Its --help's text before the options.
};

constexpr const char* kVerifyConsoleHelp =
    "Exits 0 only for a complete HALTED-OK report whose body reports no failure and whose digest is\n"
    "the armed one: --digest HEX, or with --config FILE the digest FILE's ruleset arms, computed in a\n"
    "scratch network namespace (needs root; the live ruleset is not touched).\n\n";

const Verb kVerbs[] = {
    {"check", "check the config and whether the box is fit to halt; changes nothing", CheckVerb},
    {"apply", "bring addresses, routes, sysctls and the ruleset to the config, all or nothing", ApplyVerb,
     kDryRun | kNoWait, Locking::kTakes},
    {"status", "show the live state against the config", StatusVerb},
    {"digest", "print the SHA-256 digest of the live nftables ruleset", DigestVerb, kDump},
    {"show-ruleset", "print the nft text [gateway] generates, and the rules files that follow it", ShowRulesetVerb},
    {"arm",
     "apply, then prepare the halt: exitrd with the final stage and manifest, guards,\n"
     "the ruleset watcher on standby",
     ArmVerb, kNoWait | kFinalStage, Locking::kTakes},
    {"disarm", "take the halt preparation back; the network state stays", DisarmVerb, kNoWait, Locking::kTakes},
    {"halt", "arm, then start haltfw.target: halt into the halted firewall", HaltVerb, kNoWait | kFinalStage,
     Locking::kTakes},
    // Not offered to users: haltfw-watch.service runs it.
    {"watch",
     "(run by haltfw-watch.service from 'arm' on) guard the armed ruleset from 'halt'\n"
     "to the final stage",
     WatchVerb, 0, Locking::kTakes, false},
    {"verify-console", "find the final stage's report in a captured serial log or netconsole\ncapture and judge it",
     VerifyConsoleVerb, kConsole, Locking::kNone, true, "[--digest HEX] FILE", kVerifyConsoleHelp},
};

const Verb* FindVerb(std::string_view name) {
    auto it = std::find_if(std::begin(kVerbs), std::end(kVerbs), [&](const Verb& v) { return name == v.name; });
    return it == std::end(kVerbs) ? nullptr : it;
}

// `haltfw --help`: the verbs, from the table, in two columns.
std::string Usage() {
    std::string s = "Usage: haltfw [--config FILE] [--quiet|--verbose] VERB [OPTIONS]\n\nVerbs:\n";
    const std::string indent(19, ' ');
    for (const Verb& v : kVerbs) {
        std::string name = v.name;
        s += "  " + name + std::string(name.size() < 17 ? 17 - name.size() : 1, ' ');
        for (std::string_view help = v.help;;) {
            size_t nl = help.find('\n');
            s += std::string(help.substr(0, nl)) + "\n";
            if (nl == std::string_view::npos) break;
            s += indent;
            help.remove_prefix(nl + 1);
        }
    }
    return s + "\n'haltfw VERB --help' shows a verb's options.\n"
               "Exit status: 0 ok/ready, 1 not ready or failed and rolled back (or another haltfw is running), 2 bad "
               "config or\nusage, 3 system error, 128+N a signal N came while changing the state (finished or rolled "
               "back first).\n";
}

po::options_description VerbOptions(const Verb& v) {
    po::options_description d("Options for '" + std::string(v.name) + "'");
    d.add_options()("help,h", "show this help");
    if (v.options & kDryRun) d.add_options()("dry-run,n", "print what would change, change nothing");
    if (v.options & kNoWait)
        d.add_options()("no-wait", "fail at once if another haltfw is changing the state (default: wait up to 30 s)");
    if (v.options & kDump) d.add_options()("dump", "also print the canonical ruleset the digest is made of");
    if (v.options & kFinalStage)
        d.add_options()
            ("final", po::value<std::string>()->value_name("PATH"),
             "the final stage to install (default $HALTFW_FINAL, else " HALTFW_FINAL_PATH ")")
            ("wait-devices", po::value<int>()->default_value(0)->value_name("SECONDS"),
             "wait up to SECONDS for the configured devices to appear (and udev to finish with them)");
    if (v.options & kConsole)
        d.add_options()
            ("digest", po::value<std::string>()->value_name("HEX"),
             "accept only a report of this ruleset digest (as 'haltfw arm' printed it)")
            ("file", po::value<std::string>()->value_name("FILE"),
             "the serial log, or netconsole's datagrams (payloads as socat writes them, or tcpdump's pcap);\n"
             "or give it alone");
    return d;
}

VerbArgs ArgsOf(const po::variables_map& vm) {
    VerbArgs a;
    a.dry_run = vm.count("dry-run") > 0;
    a.no_wait = vm.count("no-wait") > 0;
    a.dump = vm.count("dump") > 0;
    if (vm.count("final")) a.final_stage = vm["final"].as<std::string>();
    if (vm.count("wait-devices")) a.wait_devices = vm["wait-devices"].as<int>();
    if (vm.count("digest")) a.digest = vm["digest"].as<std::string>();
    if (vm.count("file")) a.file = vm["file"].as<std::string>();
    return a;
}

// The verb's own options, then its handler under the run lock.
int RunVerb(const Globals& g, const Verb& verb, const std::vector<std::string>& args) {
    po::options_description opts = VerbOptions(verb);
    po::positional_options_description pos;
    if (verb.options & kConsole) pos.add("file", 1);
    po::variables_map vm;
    try {
        po::store(po::command_line_parser(args).options(opts).positional(pos).run(), vm);
        if (vm.count("help")) {
            std::ostringstream help;
            help << "Usage: haltfw [--config FILE] " << verb.name << " " << verb.synopsis << "\n\n"
                 << verb.about << opts;
            out.Result(help.str());
            return kOk;
        }
        po::notify(vm);
    } catch (const po::error& e) {
        Fail(std::string(verb.name) + ": " + e.what() + " (try 'haltfw " + verb.name + " --help')");
        return kBadInput;
    }
    VerbArgs a = ArgsOf(vm);
    RunLock lock;
    std::optional<ChangeJournal> interrupted;
    if (verb.locking == Locking::kTakes && !a.dry_run) {
        if (int rc = TakeRunLock(verb.name, a.no_wait, &lock, &interrupted); rc != kOk) return rc;
    } else if (verb.locking != Locking::kNone) {
        NoticeOthers();
    }
    // Every verb ends through EndChanges: for one that never opened its
    // window (nothing to change, or a verb that only reads) it returns rc.
    ChangeWindow window(verb.name, interrupted);
    return EndChanges(&window, verb.run(g, a, &window));
}

}  // namespace
}  // namespace haltfw::cli

int main(int argc, char** argv) {
    using namespace haltfw::cli;
    // WireGuard keys pass through apply, arm and status (key files, the
    // manifest): no core dump of this process.
    (void)prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);  // a valid value: cannot fail
    Globals g;
    po::options_description global("Options");
    global.add_options()
        ("config,c", po::value<std::string>(&g.config), "configuration file (default /etc/haltfw/haltfw.conf)")
        ("quiet,q", po::bool_switch(&g.quiet), "print only errors, warnings and results")
        ("verbose,v", po::bool_switch(&g.verbose), "print more detail")
        ("help,h", "show this help")
        ("version", "print the version");
    // --list-verbs: the verbs a user types, one a line, for the bash
    // completion (packaging/haltfw.bash-completion), which asks haltfw
    // rather than keep a list of its own.
    po::options_description hidden;
    hidden.add_options()("verb", po::value<std::string>())("args", po::value<std::vector<std::string>>())(
        "list-verbs", "");
    po::options_description all;
    all.add(global).add(hidden);
    po::positional_options_description pos;
    pos.add("verb", 1).add("args", -1);

    try {
        // Options after the verb belong to the verb: stop global parsing at
        // the first positional argument.
        po::parsed_options parsed =
            po::command_line_parser(argc, argv).options(all).positional(pos).allow_unregistered().run();
        po::variables_map vm;
        po::store(parsed, vm);
        po::notify(vm);
        g.config_given = vm.count("config") > 0;
        if (g.quiet && g.verbose) {
            Fail("--quiet and --verbose contradict each other (try 'haltfw --help')");
            return kBadInput;
        }
        out = haltfw::Log::ForProcess(g.quiet     ? haltfw::Verbosity::kQuiet
                                      : g.verbose ? haltfw::Verbosity::kVerbose
                                                  : haltfw::Verbosity::kNormal);
        if (vm.count("list-verbs")) {
            for (const Verb& v : kVerbs)
                if (v.for_users) out.Result(v.name);
            return kOk;
        }
        if (!vm.count("verb")) {
            if (vm.count("version")) {
                out.Result(std::string("haltfw ") + HALTFW_VERSION);
                return kOk;
            }
            std::ostringstream usage;
            usage << Usage() << "\n" << global;
            out.Result(usage.str());
            return vm.count("help") ? kOk : kBadInput;
        }
        std::string name = vm["verb"].as<std::string>();
        const Verb* verb = FindVerb(name);
        if (!verb) {
            Fail("unknown verb '" + name + "' (try 'haltfw --help')");
            return kBadInput;
        }
        std::vector<std::string> rest = po::collect_unrecognized(parsed.options, po::include_positional);
        rest.erase(rest.begin());  // the verb itself
        if (vm.count("help")) rest.push_back("--help");
        return RunVerb(g, *verb, rest);
    } catch (const po::error& e) {
        Fail(std::string(e.what()) + " (try 'haltfw --help')");
        return kBadInput;
    }
}
