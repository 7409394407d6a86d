// haltfw: the command-line tool. A thin layer over the library: parse the
// command line, run one verb, map the outcome to an exit code. Each verb is
// a short sequence of library calls; the decisions live in the library.
//
// Exit codes (haltfw(8)):
//   0  success; for check: ready to halt
//   1  check: not ready (blockers); apply: failed and rolled back; status: live state differs
//   2  bad configuration, bad ruleset or bad command line: nothing changed
//   3  system error: the system could not be read or changed, or a rollback was incomplete
#include <boost/program_options.hpp>
#include <unistd.h>

#include <cstdio>
#include <iostream>
#include <string>
#include <vector>

#include "apply.h"
#include "config.h"
#include "nft_digest.h"
#include "nft_dump.h"
#include "nft_load.h"
#include "nft_trial.h"
#include "plan.h"
#include "readiness.h"
#include "rtnl.h"
#include "state_file.h"
#include "sysctl.h"

namespace po = boost::program_options;
using namespace haltfw;

namespace {

enum Exit { kOk = 0, kNotReady = 1, kBadInput = 2, kSystem = 3 };

struct Globals {
    std::string config = kDefaultConfigPath;
    bool quiet = false;
    bool verbose = false;
};

// Progress and results go to stdout, errors to stderr, each prefixed so a
// log reader knows who spoke.
void Say(const Globals& g, const std::string& s) {
    if (!g.quiet) std::cout << s << "\n";
}
void Fail(const std::string& s) { std::cerr << "haltfw: " << s << "\n"; }

// nft's own messages name the rules file, line and column.
void RulesetFailed(const std::string& nft_messages) {
    std::cerr << nft_messages << "\n";
    Fail("the ruleset does not load; nothing changed");
}

// Config plus (with `check_ruleset`) a check-mode pass of the ruleset through
// the kernel: the common first step of every verb that reads the config.
// apply skips the ruleset pass: its commit comes first and fails whole.
// Prints every problem; returns false if there was one.
bool LoadChecked(const Globals& g, Config* cfg, std::string* program, bool check_ruleset = true) {
    Diagnostics diags;
    *cfg = LoadConfig(g.config, &diags);
    if (!diags.ok()) {
        std::cerr << diags.FormatErrors();
        Fail(std::to_string(diags.errors().size()) + " error" + (diags.errors().size() == 1 ? "" : "s") + " in " + g.config +
             "; nothing changed");
        return false;
    }
    *program = RulesetProgram(*cfg);
    std::string err;
    if (check_ruleset && !NftCheck(*program, &err)) {
        RulesetFailed(err);
        return false;
    }
    return true;
}

PlanInputs LiveInputs(bool ruleset_current) {
    PlanInputs in;
    in.read_sysctl = [](const std::string& k, std::string* v) {
        std::string err;
        return ReadSysctl(k, v, &err);
    };
    in.module_present = [](const std::string& m) {
        std::string name = m;
        for (char& c : name)
            if (c == '-') c = '_';
        return access(("/sys/module/" + name).c_str(), F_OK) == 0;
    };
    in.ruleset_current = ruleset_current;
    return in;
}

// What the kernel holds now, and whether its ruleset is what this config
// loaded (same rules files, and no commit since: same generation id).
struct Live {
    NetState net;
    NftRuleset ruleset;     ///< Only with `with_ruleset`.
    std::string digest;     ///< Only with `with_ruleset`.
    std::string input_hash;
    uint32_t generation = 0;
    AppliedState applied;
    bool has_applied = false;
    bool ruleset_current = false;
};

// apply reads no ruleset (it may hold a million elements); check and status
// dump it to judge and show it.
bool ReadLive(const Config& cfg, bool with_ruleset, Live* live) {
    std::string err;
    std::unique_ptr<RtnlSocket> rtnl = RtnlSocket::Open(&err);
    if (!rtnl || !rtnl->Dump(&live->net, &err) || !RulesetGeneration(&live->generation, &err) ||
        !RulesetInputHash(cfg, &live->input_hash, &err) || (with_ruleset && !DumpRuleset(&live->ruleset, &err))) {
        Fail(err);
        return false;
    }
    if (with_ruleset) live->digest = RulesetDigest(live->ruleset);
    live->has_applied = ReadAppliedState(&live->applied, &err);
    if (!err.empty()) Fail(err + ", ignoring");
    live->ruleset_current = live->has_applied && live->applied.input_hash == live->input_hash &&
                            live->applied.generation == live->generation;
    return true;
}

// ---- verbs ----

int Check(const Globals& g, const std::vector<std::string>&) {
    Config cfg;
    std::string program;
    if (!LoadChecked(g, &cfg, &program)) return kBadInput;
    Live live;
    if (!ReadLive(cfg, true, &live)) return kSystem;
    Plan plan = ComputePlan(cfg, live.net, LiveInputs(live.ruleset_current));

    ReadinessInputs in;
    in.config = &cfg;
    in.state = &live.net;
    in.interfaces = &plan.interfaces;
    in.live = &live.ruleset;
    // The config's ruleset: the live one if apply loaded it and nothing
    // changed it since, else a trial load in a scratch namespace.
    NftRuleset trial;
    if (live.ruleset_current) {
        in.ruleset = &live.ruleset;
    } else {
        std::vector<std::string> names;
        for (const Link& l : live.net.links) names.push_back(l.name);
        std::string err;
        if (TrialLoad(program, names, &trial, &err)) in.ruleset = &trial;
        else in.ruleset_note = "a trial load in a scratch network namespace failed: " + err;
    }
    in.firewalld_installed = access("/usr/sbin/firewalld", F_OK) == 0;
    in.networkmanager_installed = access("/usr/sbin/NetworkManager", F_OK) == 0;
    Readiness r = AssessReadiness(in);
    for (const Diagnostic& d : plan.problems.errors()) r.blockers.push_back(d.message);

    std::cout << "config: " << g.config << ": ok (" << cfg.interfaces.size() << " interfaces, " << cfg.rule_files.size()
              << " rules file" << (cfg.rule_files.size() == 1 ? "" : "s") << ")\n";
    std::cout << "ruleset: accepted by the kernel in check mode\n";
    if (plan.problems.ok()) {
        std::cout << "pending: " << (plan.Empty() ? "none, the live state matches the config" : std::to_string(plan.actions.size()) + " changes for 'haltfw apply'") << "\n";
        if (g.verbose)
            for (const Action& a : plan.actions) std::cout << "  " << a.what << "\n";
    }
    for (const std::string& b : r.blockers) std::cout << "BLOCKER: " << b << "\n";
    for (const std::string& w : r.warnings) std::cout << "WARNING: " << w << "\n";
    std::cout << (r.ready() ? "ready to halt" : "NOT ready to halt") << " (" << r.blockers.size() << " blocker"
              << (r.blockers.size() == 1 ? "" : "s") << ", " << r.warnings.size() << " warning" << (r.warnings.size() == 1 ? "" : "s")
              << ")\n";
    return r.ready() ? kOk : kNotReady;
}

int Apply(const Globals& g, bool dry_run) {
    Config cfg;
    std::string program;
    if (!LoadChecked(g, &cfg, &program, dry_run)) return kBadInput;
    Live live;
    if (!ReadLive(cfg, false, &live)) return kSystem;
    Plan plan = ComputePlan(cfg, live.net, LiveInputs(live.ruleset_current));
    if (!plan.problems.ok()) {
        std::cerr << plan.problems.FormatErrors();
        Fail("cannot apply; nothing changed");
        return kNotReady;
    }
    if (plan.Empty()) {
        Say(g, "nothing to change: the live state matches " + g.config);
        return kOk;
    }
    if (dry_run) {
        for (const Action& a : plan.actions) std::cout << "would: " << a.what << "\n";
        return kOk;
    }

    std::string err;
    std::unique_ptr<System> sys = OpenLinuxSystem(&err);
    if (!sys) {
        Fail(err);
        return kSystem;
    }
    ApplyResult res = ApplyPlan(plan, program, sys.get(), [&](const std::string& s) { Say(g, s); });
    if (!res.ok && res.failed == ActionKind::kRuleset && res.rollback_failures.empty()) {
        RulesetFailed(res.cause);
        return kBadInput;
    }
    if (!res.ok) {
        Diagnostic d{g.config, res.error_line, res.error};
        std::cerr << d.Format() << "\n";
        for (const std::string& f : res.rollback_failures) Fail("rollback failed: " + f);
        Fail(res.rollback_failures.empty() ? "apply failed; every change was rolled back"
                                           : "apply failed and the rollback is incomplete: check the network state");
        return res.rollback_failures.empty() ? kNotReady : kSystem;
    }

    AppliedState st{g.config, live.input_hash, 0};
    if (!RulesetGeneration(&st.generation, &err)) Fail(err + ", ignoring");
    else if (!WriteAppliedState(st, &err)) Fail(err + ", ignoring");
    Say(g, "applied " + std::to_string(plan.actions.size()) + " change" + (plan.actions.size() == 1 ? "" : "s") +
               " (ruleset generation " + std::to_string(st.generation) + ")");
    return kOk;
}

int Status(const Globals& g) {
    Config cfg;
    std::string program;
    if (!LoadChecked(g, &cfg, &program)) return kBadInput;
    Live live;
    if (!ReadLive(cfg, true, &live)) return kSystem;
    Plan plan = ComputePlan(cfg, live.net, LiveInputs(live.ruleset_current));

    for (const ResolvedInterface& r : plan.interfaces) {
        std::cout << "interface " << r.config->role << ": ";
        if (!r.link) {
            std::cout << "missing\n";
            continue;
        }
        std::cout << r.link->name << " " << (r.link->up() ? "up" : "DOWN") << " mtu " << r.link->mtu << "\n";
        for (const AddressSpec& a : r.config->addresses) {
            bool have = false;
            for (const Address& x : live.net.addresses) have |= x.ifindex == r.link->index && x.prefix == a.prefix;
            std::cout << "  address " << FormatPrefix(a.prefix) << (have ? "" : " MISSING") << "\n";
        }
    }
    for (const char* k : {"net.ipv4.ip_forward", "net.ipv6.conf.all.forwarding"}) {
        std::string v, err;
        std::cout << "sysctl " << k << " = " << (ReadSysctl(k, &v, &err) ? v : "?") << "\n";
    }
    std::cout << "ruleset digest: " << live.digest << "\n";
    std::cout << "ruleset: "
              << (!live.has_applied ? "never applied by haltfw in this network namespace"
                  : live.ruleset_current ? "as applied from this config (generation " + std::to_string(live.generation) + ")"
                  : live.applied.input_hash != live.input_hash ? "the rules files changed since the last apply"
                  : "changed since the last apply (generation " + std::to_string(live.applied.generation) + ", now " +
                        std::to_string(live.generation) + ")")
              << "\n";
    bool in_sync = plan.problems.ok() && plan.Empty();
    std::cout << "state: " << (in_sync ? "matches the config" : "differs from the config (" + std::to_string(plan.actions.size()) + " pending changes)") << "\n";
    return in_sync ? kOk : kNotReady;
}

int Digest(bool dump) {
    NftRuleset rs;
    std::string err;
    if (!DumpRuleset(&rs, &err)) {
        Fail(err);
        return kSystem;
    }
    if (dump) std::cout << DescribeRuleset(rs);
    std::cout << RulesetDigest(rs) << "\n";
    return kOk;
}

// ---- command line ----

const char* kUsage =
    "Usage: haltfw [--config FILE] [--quiet|--verbose] VERB [OPTIONS]\n"
    "\n"
    "Verbs:\n"
    "  check            check the config and whether the box is fit to halt; changes nothing\n"
    "  apply            bring addresses, routes, sysctls and the ruleset to the config, all or nothing\n"
    "  status           show the live state against the config\n"
    "  digest           print the SHA-256 digest of the live nftables ruleset\n"
    "\n"
    "'haltfw VERB --help' shows a verb's options.\n"
    "Exit status: 0 ok/ready, 1 not ready or failed and rolled back, 2 bad config or usage, 3 system error.\n";

po::options_description VerbOptions(const std::string& verb) {
    po::options_description d("Options for '" + verb + "'");
    d.add_options()("help,h", "show this help");
    if (verb == "apply") d.add_options()("dry-run,n", "print what would change, change nothing");
    if (verb == "digest") d.add_options()("dump", "also print the canonical ruleset the digest is made of");
    return d;
}

int RunVerb(const Globals& g, const std::string& verb, const std::vector<std::string>& args) {
    po::options_description opts = VerbOptions(verb);
    po::variables_map vm;
    try {
        po::store(po::command_line_parser(args).options(opts).run(), vm);
        po::notify(vm);
    } catch (const po::error& e) {
        Fail(verb + ": " + e.what() + " (try 'haltfw " + verb + " --help')");
        return kBadInput;
    }
    if (vm.count("help")) {
        std::cout << "Usage: haltfw [--config FILE] " << verb << " [OPTIONS]\n\n" << opts;
        return kOk;
    }
    if (verb == "check") return Check(g, args);
    if (verb == "apply") return Apply(g, vm.count("dry-run") > 0);
    if (verb == "status") return Status(g);
    return Digest(vm.count("dump") > 0);
}

}  // namespace

int main(int argc, char** argv) {
    Globals g;
    po::options_description global("Options");
    global.add_options()
        ("config,c", po::value<std::string>(&g.config), "configuration file (default /etc/haltfw/haltfw.conf)")
        ("quiet,q", po::bool_switch(&g.quiet), "print only errors and results")
        ("verbose,v", po::bool_switch(&g.verbose), "print more detail")
        ("help,h", "show this help")
        ("version", "print the version");
    po::options_description hidden;
    hidden.add_options()("verb", po::value<std::string>())("args", po::value<std::vector<std::string>>());
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
        if (!vm.count("verb")) {
            if (vm.count("version")) {
                std::cout << "haltfw " << HALTFW_VERSION << "\n";
                return kOk;
            }
            std::cout << kUsage << "\n" << global;
            return vm.count("help") ? kOk : kBadInput;
        }
        std::string verb = vm["verb"].as<std::string>();
        if (verb != "check" && verb != "apply" && verb != "status" && verb != "digest") {
            Fail("unknown verb '" + verb + "' (try 'haltfw --help')");
            return kBadInput;
        }
        std::vector<std::string> rest = po::collect_unrecognized(parsed.options, po::include_positional);
        rest.erase(rest.begin());  // the verb itself
        if (vm.count("help")) rest.push_back("--help");
        return RunVerb(g, verb, rest);
    } catch (const po::error& e) {
        Fail(std::string(e.what()) + " (try 'haltfw --help')");
        return kBadInput;
    }
}
