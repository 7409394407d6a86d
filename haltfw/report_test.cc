#include "report.h"

#include <catch2/catch.hpp>

using namespace haltfw;

namespace {

HaltReport Ok() {
    HaltReport r;
    r.version = "0.1.0";
    r.ok = true;
    r.lines = {"processes: 1 (only PID 1)", "mounts: 1 (the exitrd)", "swap: off"};
    r.fields = {{"digest", "abc123"}, {"links", "2"}};
    return r;
}

}  // namespace

TEST_CASE("a report formats as prefixed lines ending in one machine line") {
    CHECK(FormatReport(Ok()) ==
          "HALTFW: report begin (haltfw 0.1.0)\n"
          "HALTFW: processes: 1 (only PID 1)\n"
          "HALTFW: mounts: 1 (the exitrd)\n"
          "HALTFW: swap: off\n"
          "HALTFW: HALTED-OK digest=abc123 links=2 lines=4\n");
    HaltReport f = Ok();
    f.ok = false;
    f.reason = "ruleset";
    CHECK(FormatReport(f).find("HALTFW: HALTED-FAIL reason=ruleset digest=abc123 links=2 lines=4\n") != std::string::npos);
}

TEST_CASE("verify-console parsing: OK, FAIL, truncated, absent, noise") {
    std::string ok = FormatReport(Ok());
    std::string noisy = "[   12.3] systemd-shutdown[1]: Syncing filesystems\r\n" + ok;
    // A kernel message lands in the middle of the report, and CRs everywhere.
    noisy.insert(noisy.find("HALTFW: swap"), "[   13.0] reboot: something\r\n");
    ConsoleReport r = ParseConsole(noisy);
    CHECK(r.verdict == ConsoleVerdict::kOk);
    CHECK(r.lines.size() == 5);
    CHECK(r.Field("digest") == "abc123");
    CHECK(r.machine_line == "HALTED-OK digest=abc123 links=2 lines=4");

    HaltReport f = Ok();
    f.ok = false;
    f.reason = "ruleset";
    ConsoleReport rf = ParseConsole(FormatReport(f));
    CHECK(rf.verdict == ConsoleVerdict::kFail);
    CHECK(rf.Field("reason") == "ruleset");

    std::string cut = ok.substr(0, ok.find("HALTFW: HALTED-OK"));
    CHECK(ParseConsole(cut).verdict == ConsoleVerdict::kTruncated);

    std::string lost = ok;
    lost.erase(lost.find("HALTFW: mounts"), std::string("HALTFW: mounts: 1 (the exitrd)\n").size());
    CHECK(ParseConsole(lost).verdict == ConsoleVerdict::kTruncated);

    CHECK(ParseConsole("Linux version 6.1\nreboot: System halted\n").verdict == ConsoleVerdict::kAbsent);
    CHECK(ParseConsole("").verdict == ConsoleVerdict::kAbsent);

    // Two reports (a box halted twice in one log): the last one counts.
    CHECK(ParseConsole(FormatReport(f) + ok).verdict == ConsoleVerdict::kOk);
    CHECK(ParseConsole(ok + cut).verdict == ConsoleVerdict::kTruncated);
}

TEST_CASE("the footprint: the final stage's peak on the machine line, PID 1's own on the INERT line after it") {
    // As the final stage and haltfw-inert print them, and as an older
    // final stage did (rss_* on the machine line, no INERT line).
    const std::string body =
        "HALTFW: report begin (haltfw 0.1.0)\n"
        "HALTFW: verb 'halt' with a manifest armed by haltfw 0.1.0: halted firewall\n"
        "HALTFW: memory: 112196 KiB used of 983720 KiB; final stage peak resident 2232 KiB\n"
        "HALTFW: HALTED-OK digest=dd00 links=2 mem_used_kib=112196 verify_ms=130 rss_peak_kib=2232 lines=3\n";
    const std::string inert =
        "HALTFW: INERT rss_kib=704 rss_anon_kib=52 rss_file_kib=652 vm_rss_kib=704 vm_hwm_kib=716 mem_used_kib=108420 removed=9 "
        "remove_failed=0 freed_kib=2796 left_kib=668 ctrl_alt_del=reboot\r\n";
    // A kernel message between the report and the INERT line.
    ConsoleReport now = ParseConsole(body + "[   40.1] random: crng reseeded\r\n" + inert);
    CHECK(now.verdict == ConsoleVerdict::kOk);
    CHECK(now.lines.size() == 4);  // the INERT line is not one of the report's
    CHECK(now.Field("rss_peak_kib") == "2232");
    CHECK(now.Field("rss_kib").empty());
    CHECK(now.Field("verify_ms") == "130");
    CHECK(now.inert_line.starts_with("INERT rss_kib=704 "));
    CHECK(now.InertField("rss_kib") == "704");
    CHECK(now.InertField("rss_anon_kib") == "52");
    CHECK(now.InertField("vm_hwm_kib") == "716");
    CHECK(now.InertField("rss_peak_kib").empty());
    CHECK(now.InertField("freed_kib") == "2796");
    CHECK(now.InertField("ctrl_alt_del") == "reboot");

    // No INERT line (haltfw-inert not armed, or not yet printed).
    ConsoleReport none = ParseConsole(body);
    CHECK(none.verdict == ConsoleVerdict::kOk);
    CHECK(none.inert_line.empty());
    CHECK(none.InertField("rss_kib").empty());
    // An INERT line before any report, or inside one, is not taken.
    CHECK(ParseConsole(inert + body).inert_line.empty());
    // A later report drops the earlier one's INERT line; only the first
    // INERT line after a report counts.
    CHECK(ParseConsole(body + inert + body).inert_line.empty());
    CHECK(ParseConsole(body + inert + "HALTFW: INERT rss_kib=1\n").InertField("rss_kib") == "704");

    ConsoleReport before = ParseConsole(
        "HALTFW: report begin (haltfw 0.1.0)\n"
        "HALTFW: HALTED-OK digest=dd00 links=2 mem_used_kib=112196 verify_ms=130 rss_kib=2232 rss_peak_kib=2232 rss_anon_kib=240 "
        "rss_file_kib=1992 lines=1\n");
    CHECK(before.verdict == ConsoleVerdict::kOk);
    CHECK(before.Field("rss_kib") == "2232");
    CHECK(before.inert_line.empty());
}
