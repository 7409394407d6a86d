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
