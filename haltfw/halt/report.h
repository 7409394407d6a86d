// The halt report the final stage prints on the console, and the parser
// `haltfw verify-console` uses to find it in a captured serial log.
//
// Every line starts with "HALTFW: " so it stands out among kernel messages:
//
//   HALTFW: report begin (haltfw 0.1.0)
//   HALTFW: processes: 1 (only PID 1)
//   HALTFW: mounts: none left under /oldroot; 1 mount (the exitrd)
//   ...
//   HALTFW: HALTED-OK digest=<hex> links=2 addresses=3 lines=9
//
// The last line is the machine line, exactly one per report: HALTED-OK or
// HALTED-FAIL reason=<word>, then key=value fields, ending with lines=N,
// the number of report lines before it (begin included), so a report that
// lost lines on the way is caught as truncated, not read as a success.
//
// After it, haltfw-inert (what PID 1 becomes next; inert.h) prints one line
// of its own, not part of the report's count:
//
//   HALTFW: INERT rss_kib=700 rss_anon_kib=48 ... freed_kib=2790 ...
//
// and, with [halt] heartbeat, one more at each interval for as long as the
// box stays halted, none of them part of the report either:
//
//   HALTFW: ALIVE up=3605 load1=0.00 mem_avail_kib=871524 ... conntrack=12 ...
// Pure code.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace haltfw {

inline constexpr const char* kReportPrefix = "HALTFW: ";

struct HaltReport {
    std::string version;
    std::vector<std::string> lines;  ///< Human lines, without the prefix.
    bool ok = false;
    std::string reason;              ///< One word, for HALTED-FAIL.
    std::vector<std::pair<std::string, std::string>> fields;  ///< key=value on the machine line.
};

/// The whole report, one "HALTFW: " line each, '\n'-terminated.
std::string FormatReport(const HaltReport& r);

/// A list inside a report line (and the final stage's console lines):
/// "a, b, c"; "" for none. Pure.
std::string JoinList(const std::vector<std::string>& items);

enum class ConsoleVerdict {
    kOk,         ///< A complete HALTED-OK report.
    kFail,       ///< A complete HALTED-FAIL report.
    kTruncated,  ///< A report began but its machine line is missing or its line count is wrong.
    kAbsent,     ///< No report at all.
};

struct ConsoleReport {
    ConsoleVerdict verdict = ConsoleVerdict::kAbsent;
    std::vector<std::string> lines;  ///< The report's lines as found (prefix kept), machine line included.
    std::string machine_line;        ///< Without the prefix; empty if none.
    /// Fields of the machine line ("digest" -> hex, "reason" -> word, ...).
    std::vector<std::pair<std::string, std::string>> fields;

    std::string Field(const std::string& key) const;

    /// haltfw-inert's line after the machine line, without the prefix
    /// ("INERT rss_kib=..."); empty if none came (yet).
    std::string inert_line;
    std::vector<std::pair<std::string, std::string>> inert_fields;

    std::string InertField(const std::string& key) const;

    /// haltfw-inert's heartbeat after the machine line: how many ALIVE
    /// lines came, and the last, without the prefix ("ALIVE up=...").
    int alive_count = 0;
    std::string last_alive;
};

/// Finds the last report in a serial log (CR/LF line ends, kernel messages
/// and other noise around and between its lines allowed). Judges its shape
/// only: see WhyNotProven for what a kOk report must also hold.
ConsoleReport ParseConsole(std::string_view log);

/// Whether `s` is a ruleset digest as haltfw writes it (nft_digest.h): 64
/// lowercase hex digits. Pure.
bool IsDigestHex(std::string_view s);

/// Why a report does not prove the halt it claims, or "" if it does. A
/// well-formed HALTED-OK line is easy to come by (anyone who can write to
/// the console can print one, and a report that says a step failed can
/// still end in one), so only a complete HALTED-OK report (kOk) whose
///  - machine line carries a digest, `armed_digest` itself if that is not
///    empty ("the report has no digest", "the report's digest 'X' is not
///    the armed digest 'Y'");
///  - body reports no failure ("the report's body says 'LINE'");
///  - 'ruleset:' line says that digest is as armed
/// counts. One sentence, for verify-console's verdict. Pure.
std::string WhyNotProven(const ConsoleReport& r, std::string_view armed_digest);

}  // namespace haltfw
