// verify-console: the final stage's report, found in a captured serial log
// and judged (halt/report.h), against the armed digest when one is known.
// Takes no run lock and says nothing of other haltfw runs: it reads a file.
#include <sched.h>

#include <cerrno>
#include <cstring>
#include <memory>
#include <optional>
#include <string>
#include <thread>

#include "arm/files.h"
#include "cli/live_state.h"
#include "cli/verbs.h"
#include "core/nft_load.h"
#include "halt/report.h"
#include "net/rtnl.h"
#include "nft/nft_digest.h"
#include "nft/nft_dump.h"

namespace haltfw::cli {
namespace {

// The digest a config would arm: its ruleset committed, dumped and
// digested as arm does, in a scratch network namespace of a thread's own,
// so that the caller's namespace (every other thread's) never changes and
// the scratch one goes with the thread. Creating it needs CAP_SYS_ADMIN.
// Returns kOk, kBadInput (the ruleset does not load: *err holds nft's
// messages) or kSystem.
int ScratchDigest(const Config& cfg, std::string* digest, std::string* err) {
    int rc = kSystem;
    std::thread([&] {
        if (unshare(CLONE_NEWNET) != 0) {
            *err = std::string("unshare(CLONE_NEWNET): ") + std::strerror(errno);
            return;
        }
        std::unique_ptr<RtnlSocket> rtnl = RtnlSocket::Open(err);
        if (!rtnl) return;
        // Rules may name the config's devices (`iif "wan0"` is resolved
        // when loaded): down veth links stand in for them.
        int n = 0;
        for (const InterfaceConfig& i : cfg.interfaces)
            if (!i.device.empty() && !rtnl->CreateVeth(i.device, "hfwvc" + std::to_string(n++), err)) return;
        if (!NftCommit(RulesetProgram(cfg), err)) {
            rc = kBadInput;
            return;
        }
        NftRuleset rs;
        if (!DumpRuleset(&rs, err)) return;
        *digest = RulesetDigest(rs);
        rc = kOk;
    }).join();
    return rc;
}

// verify-console --config: the digest g.config would arm.
int ConfigDigest(const Globals& g, std::string* digest) {
    Config cfg;
    if (!LoadConfigOrSay(g, &cfg)) return kBadInput;
    std::string err;
    int rc = ScratchDigest(cfg, digest, &err);
    if (rc == kBadInput) {
        out.Detail(Priority::kErr, err);
        Fail("verify-console: the ruleset of '" + g.config + "' does not load");
    } else if (rc != kOk) {
        Fail("verify-console: cannot compute the digest '" + g.config + "' would arm: " + err);
    } else {
        Progress("verify-console: '" + g.config + "' arms the ruleset digest " + *digest +
                 " (loaded in a scratch network namespace)");
    }
    return rc;
}

}  // namespace

// The last report in a serial log, judged (report.h: WhyNotProven) against
// the armed digest when one is known: --digest, or the one --config arms.
int VerifyConsoleVerb(const Globals& g, const VerbArgs& args, ChangeWindow*) {
    if (!args.file) {
        Fail("verify-console: no FILE given (usage: haltfw verify-console FILE)");
        return kBadInput;
    }
    const std::string& file = *args.file;
    const std::optional<std::string>& digest = args.digest;
    if (digest && !IsDigestHex(*digest)) {
        Fail("verify-console: --digest '" + *digest + "' is not a ruleset digest (64 lowercase hex digits)");
        return kBadInput;
    }
    if (digest && g.config_given) {
        Fail("verify-console: give --digest or --config, not both (try 'haltfw verify-console --help')");
        return kBadInput;
    }
    std::string log, err;
    if (!ReadWholeFile(file, &log, &err, size_t{1} << 30)) {
        Fail("verify-console: " + (err.empty() ? "read " + file + ": No such file or directory" : err));
        return kSystem;
    }
    // A pcap capture of netconsole's datagrams: their payloads.
    std::string text;
    if (!CaptureText(log, &text, &err)) {
        Fail("verify-console: '" + file + "': " + err);
        return kBadInput;
    }
    log.clear();
    std::string armed = digest.value_or("");
    if (g.config_given)
        if (int rc = ConfigDigest(g, &armed); rc != kOk) return rc;
    ConsoleReport r = ParseConsole(text);
    if (r.from_kernel_log)
        Progress("verify-console: read from the kernel log's copies of the lines (a netconsole capture)" +
                 (r.duplicates > 0 ? "; " + std::to_string(r.duplicates) + " received twice, counted once"
                                   : std::string()));
    for (const std::string& l : r.lines) out.Result(l);
    if (!r.inert_line.empty()) out.Result(kReportPrefix + r.inert_line);  // PID 1's footprint, after the report
    if (r.alive_count > 0)  // its heartbeat: the last line, and how many came
        out.Result(kReportPrefix + r.last_alive + " (the last of " + std::to_string(r.alive_count) + " ALIVE lines)");
    // Unstamped lines beside the kernel's stamped copies that end otherwise
    // (lines sent to a collector by someone else, in a raw capture):
    // neither reading can be trusted.
    if (!r.disagreement.empty()) {
        out.Result("verify-console: not proven: " + r.disagreement, Priority::kErr);
        return kNotReady;
    }
    switch (r.verdict) {
    case ConsoleVerdict::kOk:
        if (std::string why = WhyNotProven(r, armed); !why.empty()) {
            out.Result("verify-console: HALTED-OK not accepted: " + why, Priority::kErr);
            return kNotReady;
        }
        if (armed.empty())
            Progress("verify-console: no armed digest to hold the report's to (give --digest HEX or --config FILE)");
        out.Result("verify-console: a complete HALTED-OK report (digest " + r.Field("digest") +
                       (armed.empty() ? ")" : ", the armed one)"),
                   Priority::kNotice);
        return kOk;
    case ConsoleVerdict::kFail:
        out.Result("verify-console: HALTED-FAIL (reason " + r.Field("reason") + ")", Priority::kErr);
        return kNotReady;
    case ConsoleVerdict::kTruncated:
        out.Result(
            "verify-console: a truncated report: " +
                (r.machine_line.empty() ? std::string("it has no HALTED-OK or HALTED-FAIL line")
                                        : "it counts lines=" + r.Field("lines") + " but " +
                                              std::to_string(r.lines.size() - 1) + " lines arrived before its last"),
            Priority::kErr);
        return kNotReady;
    case ConsoleVerdict::kAbsent:
        break;
    }
    out.Result("verify-console: no haltfw report in '" + file + "'", Priority::kErr);
    return kBadInput;
}

}  // namespace haltfw::cli
