#include "report.h"

#include "text_lines.h"

namespace haltfw {
namespace {

constexpr std::string_view kBegin = "report begin";
constexpr std::string_view kInert = "INERT ";

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

std::string FormatReport(const HaltReport& r) {
    std::string out = std::string(kReportPrefix) + std::string(kBegin) + " (haltfw " + r.version + ")\n";
    for (const std::string& l : r.lines) out += kReportPrefix + l + "\n";
    std::string machine = r.ok ? "HALTED-OK" : "HALTED-FAIL reason=" + (r.reason.empty() ? std::string("unknown") : r.reason);
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

}  // namespace haltfw
