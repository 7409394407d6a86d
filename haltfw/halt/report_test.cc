#include "halt/report.h"

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
    CHECK(FormatReport(f).find("HALTFW: HALTED-FAIL reason=ruleset digest=abc123 links=2 lines=4\n") !=
          std::string::npos);
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
        "HALTFW: INERT rss_kib=704 rss_anon_kib=52 rss_file_kib=652 vm_rss_kib=704 vm_hwm_kib=716 mem_used_kib=108420 "
        "removed=9 remove_failed=0 freed_kib=2796 left_kib=668 ctrl_alt_del=reboot\r\n";
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
        "HALTFW: HALTED-OK digest=dd00 links=2 mem_used_kib=112196 verify_ms=130 rss_kib=2232 rss_peak_kib=2232 "
        "rss_anon_kib=240 rss_file_kib=1992 lines=1\n");
    CHECK(before.verdict == ConsoleVerdict::kOk);
    CHECK(before.Field("rss_kib") == "2232");
    CHECK(before.inert_line.empty());
}

namespace {

constexpr const char* kArmed = "e15c3fb957cb389075e862bdf02030b4874556a42bc8a5d0c07fa817a94c1a8d";
constexpr const char* kOther = "0000000000000000000000000000000000000000000000000000000000000000";

// A report as the final stage prints it, with `ruleset` as its 'ruleset:'
// line's detail and `extra` lines after it.
HaltReport Armed(const std::string& digest, const std::string& ruleset, std::vector<std::string> extra = {}) {
    HaltReport r;
    r.version = "0.1.0";
    r.ok = true;
    r.lines = {"processes: none but PID 1 (31 kernel threads)",
               "mounts: 2 taken off; none left but the exitrd and /proc", "swap: off", "ruleset: " + ruleset};
    r.lines.insert(r.lines.end(), extra.begin(), extra.end());
    r.lines.push_back("links: 2 up with 4 addresses");
    r.fields = {{"digest", digest}, {"links", "2"}};
    return r;
}

std::string Why(const HaltReport& r, std::string_view armed = "") {
    return WhyNotProven(ParseConsole(FormatReport(r)), armed);
}

}  // namespace

TEST_CASE("a digest is 64 lowercase hex digits") {
    CHECK(IsDigestHex(kArmed));
    CHECK_FALSE(IsDigestHex(""));
    CHECK_FALSE(IsDigestHex("abc123"));
    CHECK_FALSE(IsDigestHex(std::string(kArmed) + "0"));
    CHECK_FALSE(IsDigestHex(std::string(kArmed).substr(1)));
    std::string upper = kArmed;
    upper[0] = 'E';
    CHECK_FALSE(IsDigestHex(upper));
    CHECK_FALSE(IsDigestHex(std::string(63, 'a') + "g"));
}

TEST_CASE("verify-console's judge: a complete OK report of the armed digest, its body clean, is proven") {
    HaltReport r = Armed(kArmed, std::string("digest ") + kArmed + " as armed (41 objects)");
    CHECK(Why(r) == "");
    CHECK(Why(r, kArmed) == "");
    // Restored by the final stage from the manifest: still the armed ruleset.
    HaltReport restored = Armed(
        kArmed, std::string("digest was ") + kOther + ", restored from the manifest: now " + kArmed + " as armed");
    CHECK(Why(restored, kArmed) == "");
    // Kernel noise and CRs between the lines change nothing.
    std::string noisy = FormatReport(r);
    noisy.insert(noisy.find("HALTFW: swap"), "[   13.0] e1000: eth1 NIC Link is Up\r\n");
    CHECK(WhyNotProven(ParseConsole(noisy), kArmed) == "");
}

TEST_CASE("verify-console's judge: a forged OK whose digest is not the armed one") {
    HaltReport forged = Armed(kOther, std::string("digest ") + kOther + " as armed (3 objects)");
    CHECK(ParseConsole(FormatReport(forged)).verdict == ConsoleVerdict::kOk);  // well formed
    CHECK(Why(forged, kArmed) ==
          std::string("the report's digest '") + kOther + "' is not the armed digest '" + kArmed + "'");
    // Without an armed digest it cannot be told from a real one.
    CHECK(Why(forged) == "");
}

TEST_CASE("verify-console's judge: no digest, or one that is not a digest") {
    // The bare machine line: "HALTED-OK lines=1".
    ConsoleReport bare = ParseConsole("HALTFW: report begin (haltfw 0.1.0)\nHALTFW: HALTED-OK lines=1\n");
    REQUIRE(bare.verdict == ConsoleVerdict::kOk);
    CHECK(WhyNotProven(bare, "") == "the report has no digest");
    CHECK(WhyNotProven(bare, kArmed) == "the report has no digest");
    // An empty digest= (the final stage could not read the ruleset).
    CHECK(WhyNotProven(ParseConsole("HALTFW: report begin (haltfw 0.1.0)\nHALTFW: HALTED-OK digest= lines=1\n"), "") ==
          "the report has no digest");
    CHECK(Why(Armed("", std::string("digest ") + kArmed + " as armed"))  == "the report has no digest");
    CHECK(Why(Armed("abc123", "digest abc123 as armed")) ==
          "the report's digest 'abc123' is not 64 lowercase hex digits");
    // A digest, but nothing else: lines=1 proves nothing either.
    ConsoleReport lone = ParseConsole(std::string("HALTFW: report begin (haltfw 0.1.0)\nHALTFW: HALTED-OK digest=") +
                                      kArmed + " lines=1\n");
    REQUIRE(lone.verdict == ConsoleVerdict::kOk);
    CHECK(WhyNotProven(lone, kArmed) == "the report has no 'ruleset:' line");
}

TEST_CASE("verify-console's judge: an OK machine line under a body that reports a failure") {
    const std::string armed = std::string("digest ") + kArmed + " as armed (41 objects)";
    struct Case {
        HaltReport report;
        std::string line;
    };
    const Case cases[] = {
        {Armed(kArmed, std::string("digest ") + kOther + " differs from the armed " + kArmed +
                           "; restore failed: elements of set t s: File exists"),
         std::string("ruleset: digest ") + kOther + " differs from the armed " + kArmed +
             "; restore failed: elements of set t s: File exists"},
        {Armed(kArmed, std::string("digest was ") + kOther + ", restored from the manifest: now " + kOther +
                           ", STILL DIFFERENT"),
         std::string("ruleset: digest was ") + kOther + ", restored from the manifest: now " + kOther +
             ", STILL DIFFERENT"},
        {Armed(kArmed, "cannot read the ruleset: receive: No buffer space available"),
         "ruleset: cannot read the ruleset: receive: No buffer space available"},
        {Armed(kArmed, armed, {"forwarding: turned OFF for every family (fail closed)"}),
         "forwarding: turned OFF for every family (fail closed)"},
        {Armed(kArmed, armed, {"sysctls: 14 as armed; FAILED: net.ipv4.ip_forward is '0', not '1'"}),
         "sysctls: 14 as armed; FAILED: net.ipv4.ip_forward is '0', not '1'"},
        {Armed(kArmed, armed,
               {"watch: stopped (pid 312); during the shutdown it found the ruleset unchanged throughout; its restore "
                "FAILED 1 time (forwarding off)"}),
         "watch: stopped (pid 312); during the shutdown it found the ruleset unchanged throughout; its restore FAILED "
         "1 time (forwarding off)"},
        {Armed(kArmed, armed, {"swap: STILL ON: /dev/vda3"}), "swap: STILL ON: /dev/vda3"},
    };
    for (const Case& c : cases) {
        CAPTURE(c.line);
        CHECK(ParseConsole(FormatReport(c.report)).verdict == ConsoleVerdict::kOk);
        CHECK(Why(c.report, kArmed) == "the report's body says '" + c.line + "'");
        CHECK(Why(c.report) == "the report's body says '" + c.line + "'");
    }
    HaltReport left = Armed(kArmed, armed);
    left.lines[0] = "processes: LEFT: sshd[412] (31 kernel threads)";
    CHECK(Why(left) == "the report's body says 'processes: LEFT: sshd[412] (31 kernel threads)'");
    // The first failing line is named.
    HaltReport two = Armed(
        kArmed, armed, {"sysctls: 14 as armed; FAILED: a", "forwarding: turned OFF for every family (fail closed)"});
    CHECK(Why(two) == "the report's body says 'sysctls: 14 as armed; FAILED: a'");
}

TEST_CASE("verify-console's judge: the body's ruleset line names the machine line's digest") {
    HaltReport r = Armed(kArmed, std::string("digest ") + kOther + " as armed (3 objects)");
    CHECK(Why(r, kArmed) == std::string("the report's 'ruleset:' line does not say '") + kArmed + " as armed'");
    HaltReport no_ruleset = Armed(kArmed, "x");
    no_ruleset.lines.erase(no_ruleset.lines.begin() + 3);
    CHECK(Why(no_ruleset, kArmed) == "the report has no 'ruleset:' line");
}

TEST_CASE("verify-console's judge: only a complete HALTED-OK report can be proven") {
    HaltReport f = Armed(kArmed, std::string("digest ") + kArmed + " as armed");
    f.ok = false;
    f.reason = "links";
    CHECK(Why(f, kArmed) == "the report is not a complete HALTED-OK report");
    std::string ok = FormatReport(Armed(kArmed, std::string("digest ") + kArmed + " as armed"));
    CHECK(WhyNotProven(ParseConsole(ok.substr(0, ok.find("HALTFW: HALTED-OK"))), kArmed) ==
          "the report is not a complete HALTED-OK report");
    CHECK(WhyNotProven(ParseConsole(""), "") == "the report is not a complete HALTED-OK report");
}

TEST_CASE("a report's lists read 'a, b, c'") {
    CHECK(JoinList({}).empty());
    CHECK(JoinList({"/oldroot"}) == "/oldroot");
    CHECK(JoinList({"812 (evil)", "813 (worse)", "814"}) == "812 (evil), 813 (worse), 814");
}

TEST_CASE("verify-console: ALIVE lines after the report are counted and do not change the verdict") {
    HaltReport r = Armed(kArmed, std::string("digest ") + kArmed + " as armed (41 objects)",
                         {"panic: reboot 5 s after a kernel panic (kernel.panic = 5, kernel.panic_on_oops = 1)"});
    const std::string inert =
        "HALTFW: INERT rss_kib=708 rss_anon_kib=56 rss_file_kib=652 vm_rss_kib=4 vm_hwm_kib=4 mem_used_kib=113476 "
        "removed=19 remove_failed=0 freed_kib=2992 left_kib=664 ctrl_alt_del=ignore\r\n";
    const std::string alive1 =
        "HALTFW: ALIVE up=61 load1=0.08 mem_avail_kib=871524 mem_free_kib=850000 conntrack=3 rss_kib=708\r\n";
    const std::string alive2 =
        "HALTFW: ALIVE up=66 load1=0.07 mem_avail_kib=871500 mem_free_kib=849990 conntrack=-1 rss_kib=712\r\n";
    ConsoleReport c = ParseConsole(FormatReport(r) + inert + alive1 + "[   63.2] nft drop: IN=eth0\r\n" + alive2);
    CHECK(c.verdict == ConsoleVerdict::kOk);
    CHECK(WhyNotProven(c, kArmed) == "");
    CHECK(c.lines.size() == r.lines.size() + 2);  // begin and machine line; no ALIVE line among them
    CHECK(c.InertField("rss_kib") == "708");
    CHECK(c.alive_count == 2);
    CHECK(c.last_alive == "ALIVE up=66 load1=0.07 mem_avail_kib=871500 mem_free_kib=849990 conntrack=-1 rss_kib=712");
    // None before a report counts, and a new report starts the count again.
    CHECK(ParseConsole(alive1 + FormatReport(r)).alive_count == 0);
    ConsoleReport again = ParseConsole(FormatReport(r) + inert + alive1 + alive2 + FormatReport(r) + inert + alive1);
    CHECK(again.alive_count == 1);
    CHECK(again.verdict == ConsoleVerdict::kOk);
    // An ALIVE line cut into a report (its machine line lost) leaves it truncated.
    std::string cut = FormatReport(r);
    cut.insert(cut.find("HALTFW: HALTED-OK"), alive1);
    CHECK(ParseConsole(cut).verdict == ConsoleVerdict::kTruncated);
}

TEST_CASE("verify-console's judge: each 'panic:' line the final stage writes is a clean body line") {
    for (const char* panic :
         {"panic: reboot 10 s after a kernel panic (kernel.panic = 10, kernel.panic_on_oops = 1)",
          "panic: reboot at once after a kernel panic (kernel.panic = -1, kernel.panic_on_oops = 0)",
          "panic: the box stays down after a kernel panic (kernel.panic = 0: no panic-reboot)"}) {
        INFO(panic);
        CHECK(Why(Armed(kArmed, std::string("digest ") + kArmed + " as armed (41 objects)", {panic}), kArmed) == "");
    }
}
