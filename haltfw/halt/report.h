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
//
// With netconsole, every one of these lines also goes to the kernel log as
// it is (level 6), so a console may show each twice (the second after the
// kernel's time stamp), and a capture of netconsole's datagrams holds the
// same lines, stamped. ParseConsole reads either.
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

    /// Read from the kernel log's copies of the lines (a netconsole
    /// capture), not from lines written to the console.
    bool from_kernel_log = false;
    /// Copies left out: report lines whose kernel stamp and text came
    /// before (a datagram received twice).
    int duplicates = 0;
    /// A report line without a stamp that came twice (without the prefix);
    /// kept, so counted, and fatal to the proof (WhyNotProven).
    std::string repeated;
    /// Where a log holds both lines written directly and the kernel's
    /// copies, and the two readings end differently: why, in a few words
    /// ("the lines written directly and the kernel's copies of them
    /// disagree (written: ...; copies: ...)"); fatal to the proof.
    std::string disagreement;
};

/// Finds the last report in a serial log (CR/LF line ends, kernel messages
/// and other noise around and between its lines allowed), or in a capture
/// of netconsole's datagrams (CaptureText). Each line may come twice: as
/// written to the console, and as the kernel log's copy, after the
/// kernel's stamp ("[   30.387225] ", or extended netconsole's
/// "14,532,30387225,-;"). Where any line was written directly, those lines
/// count, and the kernel's copies must tell the same: the same verdict and
/// machine line, or, where the direct report is complete, the copies short
/// only of lines too long for /dev/kmsg (it refuses a write over 992
/// bytes); else `disagreement` says so. Without direct lines (a netconsole
/// capture) the kernel's copies count, a copy received twice (the same
/// stamp and text) counted once. Linear in the log's size. Lines lost, or
/// out of order across the begin or machine line, make the report
/// kTruncated. Judges its shape only: see WhyNotProven for what a kOk
/// report must also hold.
ConsoleReport ParseConsole(std::string_view log);

/// The text of a captured log: a pcap file (what `tcpdump -w` writes:
/// classic pcap, either byte order, micro- or nanosecond; Ethernet, Linux
/// cooked v1/v2, raw IP or BSD loopback links; IPv4 or IPv6) gives the
/// UDP payloads of the one sender (source address and port) whose
/// datagrams carry report lines ("HALTFW: "), in the capture's order, each
/// ended by a newline unless it is one of netconsole's 1000-byte chunks of
/// a longer line (then the next of that sender continues it); anything
/// else is taken as text as it is. False, with *err, for a pcap file cut
/// short or of a link type it does not know, and for report lines from
/// more than one sender (a forged report, or two boxes: *err names them).
/// Pure.
bool CaptureText(std::string_view file, std::string* text, std::string* err);

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
/// counts, and no line may have come twice without a kernel stamp to tell
/// the copies apart (the count would then hide a lost one), nor may the
/// lines written directly and the kernel's copies disagree (checked
/// first, whatever the verdict). One sentence,
/// for verify-console's verdict. Pure.
std::string WhyNotProven(const ConsoleReport& r, std::string_view armed_digest);

}  // namespace haltfw
