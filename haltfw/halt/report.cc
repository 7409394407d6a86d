#include "halt/report.h"

#include "base/text_lines.h"

namespace haltfw {
namespace {

constexpr std::string_view kBegin = "report begin";
constexpr std::string_view kInert = "INERT ";
constexpr std::string_view kAlive = "ALIVE ";

std::string_view StripCr(std::string_view s) {
    while (!s.empty() && (s.back() == '\r' || s.back() == '\n')) s.remove_suffix(1);
    return s;
}

// "HALTED-OK digest=ab links=2 lines=9" -> fields, the verdict word kept
// apart by the caller.
std::vector<std::pair<std::string, std::string>> Fields(std::string_view machine) {
    std::vector<std::pair<std::string, std::string>> out;
    size_t i = 0;
    while (i < machine.size()) {
        size_t sp = machine.find(' ', i);
        if (sp == std::string_view::npos) sp = machine.size();
        std::string_view word = machine.substr(i, sp - i);
        size_t eq = word.find('=');
        if (eq != std::string_view::npos) out.emplace_back(word.substr(0, eq), word.substr(eq + 1));
        i = sp + 1;
    }
    return out;
}

}  // namespace

std::string JoinList(const std::vector<std::string>& items) {
    std::string s;
    for (const std::string& x : items) s += (s.empty() ? "" : ", ") + x;
    return s;
}

std::string FormatReport(const HaltReport& r) {
    std::string out = std::string(kReportPrefix) + std::string(kBegin) + " (haltfw " + r.version + ")\n";
    for (const std::string& l : r.lines) out += kReportPrefix + l + "\n";
    std::string machine =
        r.ok ? "HALTED-OK" : "HALTED-FAIL reason=" + (r.reason.empty() ? std::string("unknown") : r.reason);
    for (const auto& [k, v] : r.fields) machine += " " + k + "=" + v;
    machine += " lines=" + std::to_string(r.lines.size() + 1);
    out += kReportPrefix + machine + "\n";
    return out;
}

namespace {

std::string FieldOf(const std::vector<std::pair<std::string, std::string>>& fields, const std::string& key) {
    for (const auto& [k, v] : fields)
        if (k == key) return v;
    return "";
}

}  // namespace

std::string ConsoleReport::Field(const std::string& key) const { return FieldOf(fields, key); }

std::string ConsoleReport::InertField(const std::string& key) const { return FieldOf(inert_fields, key); }

ConsoleReport ParseConsole(std::string_view log) {
    ConsoleReport r;
    const std::string_view prefix = kReportPrefix;
    bool in_report = false;
    for (std::string_view raw; NextLine(&log, &raw);) {
        std::string_view line = StripCr(raw);
        // Our lines may follow other output on the same console line (a
        // kernel message without its newline yet): look for the prefix
        // anywhere.
        size_t at = line.find(prefix);
        if (at == std::string_view::npos) continue;
        std::string_view body = line.substr(at + prefix.size());
        if (body.substr(0, kBegin.size()) == kBegin) {  // a new report: the last one counts
            r = ConsoleReport{};
            r.verdict = ConsoleVerdict::kTruncated;
            in_report = true;
        }
        if (!in_report) {
            // haltfw-inert's line, once after a complete machine line.
            if (!r.machine_line.empty() && r.inert_line.empty() && body.substr(0, kInert.size()) == kInert) {
                r.inert_line = std::string(body);
                r.inert_fields = Fields(body);
            }
            // Its heartbeat, as many as came.
            if (!r.machine_line.empty() && body.substr(0, kAlive.size()) == kAlive) {
                ++r.alive_count;
                r.last_alive = std::string(body);
            }
            continue;
        }
        r.lines.emplace_back(line.substr(at));
        bool ok = body.substr(0, 10) == "HALTED-OK " || body == "HALTED-OK";
        bool fail = body.substr(0, 12) == "HALTED-FAIL ";
        if (!ok && !fail) continue;
        r.machine_line = std::string(body);
        r.fields = Fields(body);
        in_report = false;
        // lines= counts the report's lines before the machine line; fewer
        // found means some were lost between the box and this log.
        std::string want = r.Field("lines");
        r.verdict = want == std::to_string(r.lines.size() - 1) ? (ok ? ConsoleVerdict::kOk : ConsoleVerdict::kFail)
                                                               : ConsoleVerdict::kTruncated;
    }
    return r;
}

bool IsDigestHex(std::string_view s) {
    return s.size() == 64 && s.find_first_not_of("0123456789abcdef") == std::string_view::npos;
}

namespace {

// What the final stage writes into a body line only where a step failed
// (haltfw_final.cc, final_stage.cc): "; FAILED: ...", the watcher's
// "restore FAILED", "restore failed: ...", "LEFT: ...", "STILL ON",
// "STILL DIFFERENT", "forwarding: turned OFF", "cannot read ...". Its own
// machine line ignores the watcher's failures (the final stage put the
// ruleset back after them), but the body still tells of a shutdown that
// went wrong: such a report is not accepted either.
constexpr std::string_view kFailureWords[] = {"FAILED", "failed", "LEFT:", "STILL ", "turned OFF", "cannot "};

// A report line as ParseConsole keeps it, without the prefix.
std::string_view Body(std::string_view line) {
    return line.starts_with(kReportPrefix) ? line.substr(std::string_view(kReportPrefix).size()) : line;
}

// The first body line (between the begin line and the machine line) that
// reports a failure; empty if none does.
std::string_view FailingLine(const ConsoleReport& r) {
    for (size_t i = 1; i + 1 < r.lines.size(); ++i)
        for (std::string_view w : kFailureWords)
            if (Body(r.lines[i]).find(w) != std::string_view::npos) return Body(r.lines[i]);
    return {};
}

// The body's 'ruleset:' line; empty if none.
std::string_view RulesetLine(const ConsoleReport& r) {
    for (size_t i = 1; i + 1 < r.lines.size(); ++i)
        if (Body(r.lines[i]).starts_with("ruleset: ")) return Body(r.lines[i]);
    return {};
}

}  // namespace

std::string WhyNotProven(const ConsoleReport& r, std::string_view armed_digest) {
    if (r.verdict != ConsoleVerdict::kOk) return "the report is not a complete HALTED-OK report";
    std::string digest = r.Field("digest");
    if (digest.empty()) return "the report has no digest";
    if (!IsDigestHex(digest)) return "the report's digest '" + digest + "' is not 64 lowercase hex digits";
    if (!armed_digest.empty() && digest != armed_digest)
        return "the report's digest '" + digest + "' is not the armed digest '" + std::string(armed_digest) + "'";
    if (std::string_view bad = FailingLine(r); !bad.empty()) return "the report's body says '" + std::string(bad) + "'";
    std::string_view ruleset = RulesetLine(r);
    if (ruleset.empty()) return "the report has no 'ruleset:' line";
    // "digest D as armed (N objects)", or "... restored from the manifest:
    // now D as armed": the body and the machine line name one ruleset.
    if (ruleset.find(digest + " as armed") == std::string_view::npos)
        return "the report's 'ruleset:' line does not say '" + digest + " as armed'";
    return "";
}

}  // namespace haltfw
