#include "halt/inert_args.h"

#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "halt/proc_status.h"
#include "halt/report.h"

using namespace haltfw;

namespace {

struct Parsed {
    bool ok;
    InertArgs args;
    std::string err;
    int bad;
};

Parsed Parse(std::vector<const char*> argv) {
    argv.insert(argv.begin(), "haltfw-inert");
    Parsed p{false, {}, "", -1};
    const char* err = "";
    p.args.ctrl_alt_del = CtrlAltDelAction::kPoweroff;  // must be reset on an error
    p.ok = ParseInertArgs(static_cast<int>(argv.size()), argv.data(), &p.args, &err, &p.bad);
    p.err = err;
    return p;
}

}  // namespace

TEST_CASE("haltfw-inert's arguments: --ctrl-alt-del in both forms, --help") {
    Parsed p = Parse({});
    CHECK(p.ok);
    CHECK(p.args.ctrl_alt_del == CtrlAltDelAction::kIgnore);
    CHECK_FALSE(p.args.help);

    CHECK(Parse({"--ctrl-alt-del", "reboot"}).args.ctrl_alt_del == CtrlAltDelAction::kReboot);
    CHECK(Parse({"--ctrl-alt-del=poweroff"}).args.ctrl_alt_del == CtrlAltDelAction::kPoweroff);
    CHECK(Parse({"--ctrl-alt-del", "reboot", "--ctrl-alt-del", "ignore"}).args.ctrl_alt_del ==
          CtrlAltDelAction::kIgnore);
    CHECK(Parse({"--help"}).args.help);
    CHECK(Parse({"-h"}).args.help);
}

TEST_CASE("haltfw-inert's arguments: errors name the argument and leave Ctrl-Alt-Del ignored") {
    struct Case {
        std::vector<const char*> argv;
        const char* err;
        int bad;  ///< The argument named, as its index in argv (argv[0] is the program).
    };
    const Case cases[] = {
        {{"--ctrl-alt-del", "reboot", "--bogus"}, "unknown option", 3},
        {{"--ctrl-alt-del"}, "missing value for --ctrl-alt-del", 1},
        {{"--ctrl-alt-del", "halt"}, "bad value for --ctrl-alt-del (reboot, poweroff or ignore)", 2},
    };
    for (const Case& c : cases) {
        INFO(c.err);
        Parsed p = Parse(c.argv);
        CHECK_FALSE(p.ok);
        CHECK(p.err == c.err);
        CHECK(p.bad == c.bad);
        CHECK(p.args.ctrl_alt_del == CtrlAltDelAction::kIgnore);
    }

    Parsed p = Parse({"--ctrl-alt-del=Reboot"});
    CHECK_FALSE(p.ok);
    CHECK(p.bad == 1);
    CHECK_FALSE(Parse({"reboot"}).ok);
}

TEST_CASE("haltfw-inert's arguments: --heartbeat SECONDS, 1 to 86400, in both forms") {
    CHECK(Parse({}).args.heartbeat_s == 0);
    CHECK(Parse({"--heartbeat", "30"}).args.heartbeat_s == 30);
    CHECK(Parse({"--heartbeat=86400"}).args.heartbeat_s == 86400);
    Parsed both = Parse({"--ctrl-alt-del", "reboot", "--heartbeat", "1"});
    CHECK(both.ok);
    CHECK(both.args.ctrl_alt_del == CtrlAltDelAction::kReboot);
    CHECK(both.args.heartbeat_s == 1);
    struct Case {
        std::vector<const char*> argv;
        const char* err;
        int bad;
    };
    const Case cases[] = {
        {{"--ctrl-alt-del", "reboot", "--heartbeat"}, "missing value for --heartbeat", 3},
        {{"--heartbeat", "0"}, "bad value for --heartbeat (seconds, 1 to 86400)", 2},
        {{"--heartbeat=86401"}, "bad value for --heartbeat (seconds, 1 to 86400)", 1},
        {{"--heartbeat", "30s"}, "bad value for --heartbeat (seconds, 1 to 86400)", 2},
        {{"--heartbeat", "-5"}, "bad value for --heartbeat (seconds, 1 to 86400)", 2},
        {{"--heartbeat", ""}, "bad value for --heartbeat (seconds, 1 to 86400)", 2},
        {{"--heartbeat", "99999999999999999999"}, "bad value for --heartbeat (seconds, 1 to 86400)", 2},
        {{"--heartbeats", "5"}, "unknown option", 1},
    };
    for (const Case& c : cases) {
        INFO(c.err);
        Parsed p = Parse(c.argv);
        CHECK_FALSE(p.ok);
        CHECK(p.err == c.err);
        CHECK(p.bad == c.bad);
        CHECK(p.args.heartbeat_s == 0);
        CHECK(p.args.ctrl_alt_del == CtrlAltDelAction::kIgnore);
    }
}

TEST_CASE("haltfw-inert's arguments: --kmsg, its lines to the kernel log too; off unless given") {
    CHECK_FALSE(Parse({}).args.kmsg);
    CHECK_FALSE(Parse({"--ctrl-alt-del", "reboot", "--heartbeat", "5"}).args.kmsg);
    CHECK(Parse({"--kmsg"}).args.kmsg);
    // As the final stage gives it: after the others.
    Parsed all = Parse({"--ctrl-alt-del", "poweroff", "--heartbeat", "30", "--kmsg"});
    CHECK(all.ok);
    CHECK(all.args.kmsg);
    CHECK(all.args.heartbeat_s == 30);
    CHECK(all.args.ctrl_alt_del == CtrlAltDelAction::kPoweroff);
    CHECK(Parse({"--kmsg", "--ctrl-alt-del=reboot"}).args.kmsg);
    // It takes no value; an error leaves it off with the rest.
    struct Case {
        std::vector<const char*> argv;
        const char* err;
        int bad;
    };
    const Case cases[] = {
        {{"--kmsg=1"}, "unknown option", 1},
        {{"--kmsg", "yes"}, "unknown option", 2},
        {{"--kmsg", "--heartbeat", "0"}, "bad value for --heartbeat (seconds, 1 to 86400)", 3},
        {{"--kmsgs"}, "unknown option", 1},
    };
    for (const Case& c : cases) {
        INFO(c.argv[0]);
        Parsed p = Parse(c.argv);
        CHECK_FALSE(p.ok);
        CHECK(p.err == c.err);
        CHECK(p.bad == c.bad);
        CHECK_FALSE(p.args.kmsg);
    }
}

TEST_CASE("the ALIVE line: every field, the load in hundredths, unknowns as -1") {
    AliveFigures a;
    a.up_s = 3605;
    a.load1 = (1 << 16) + (1 << 16) * 5 / 100;  // 1.05
    a.load_known = true;
    a.mem_avail_kib = 871524;
    a.mem_free_kib = 850112;
    a.conntrack = 12;
    a.rss_kib = 712;
    char buf[256];
    size_t n = FormatAliveLine(a, buf, sizeof buf);
    CHECK(std::string(buf, n) ==
          "HALTFW: ALIVE up=3605 load1=1.05 mem_avail_kib=871524 mem_free_kib=850112 conntrack=12 rss_kib=712\n");
    a.load1 = 0;
    FormatAliveLine(a, buf, sizeof buf);
    CHECK(std::string(buf).find(" load1=0.00 ") != std::string::npos);
    a.load1 = (12 << 16) + (1 << 16) / 2;  // 12.50
    FormatAliveLine(a, buf, sizeof buf);
    CHECK(std::string(buf).find(" load1=12.50 ") != std::string::npos);
    a.load1 = (1 << 16) * 999 / 1000;  // 0.999: 1.00
    FormatAliveLine(a, buf, sizeof buf);
    CHECK(std::string(buf).find(" load1=1.00 ") != std::string::npos);
    AliveFigures unknown;
    n = FormatAliveLine(unknown, buf, sizeof buf);
    CHECK(std::string(buf, n) ==
          "HALTFW: ALIVE up=-1 load1=-1 mem_avail_kib=-1 mem_free_kib=-1 conntrack=-1 rss_kib=-1\n");
    char small[10];
    n = FormatAliveLine(a, small, sizeof small);
    CHECK(n == 9);
    CHECK(std::string(small) == "HALTFW: A");
}

TEST_CASE("the INERT line: every field, unknowns as -1, and verify-console's parser reads it back") {
    InertFigures f;
    f.rss_kib = 704;
    f.rss_anon_kib = 52;
    f.rss_file_kib = 652;
    f.vm_rss_kib = 704;
    f.vm_hwm_kib = 716;
    f.mem_used_kib = 108420;
    f.removed = 9;
    f.freed_kib = 2796;
    f.left_kib = 668;
    f.ctrl_alt_del = CtrlAltDelAction::kReboot;
    char buf[512];
    size_t n = FormatInertLine(f, buf, sizeof buf);
    const std::string line =
        "HALTFW: INERT rss_kib=704 rss_anon_kib=52 rss_file_kib=652 vm_rss_kib=704 vm_hwm_kib=716 mem_used_kib=108420 "
        "removed=9 remove_failed=0 freed_kib=2796 left_kib=668 ctrl_alt_del=reboot\n";
    CHECK(std::string(buf, n) == line);
    CHECK(buf[n] == '\0');

    ConsoleReport r = ParseConsole("HALTFW: report begin (haltfw 0.1.0)\nHALTFW: HALTED-OK digest=ab lines=1\n" + line);
    CHECK(r.InertField("rss_kib") == "704");
    CHECK(r.InertField("left_kib") == "668");
    CHECK(r.InertField("ctrl_alt_del") == "reboot");

    InertFigures unknown;
    n = FormatInertLine(unknown, buf, sizeof buf);
    CHECK(std::string(buf, n) ==
          "HALTFW: INERT rss_kib=-1 rss_anon_kib=-1 rss_file_kib=-1 vm_rss_kib=-1 vm_hwm_kib=-1 mem_used_kib=-1 "
          "removed=0 remove_failed=0 freed_kib=0 left_kib=-1 ctrl_alt_del=ignore\n");

    // A small buffer: cut, still terminated, never overrun.
    char small[16];
    small[15] = 'x';
    n = FormatInertLine(f, small, 15);
    CHECK(n == 14);
    CHECK(std::string(small) == "HALTFW: INERT ");
    CHECK(small[15] == 'x');
}

TEST_CASE("StatusKib reads /proc/meminfo lines too, and rejects overflowing values") {
    CHECK(StatusKib("MemTotal:        983720 kB\nMemAvailable:    871524 kB\n", "MemAvailable") == 871524);
    CHECK(StatusKib("VmRSS:\t99999999999999999999999 kB\n", "VmRSS") == -1);
    CHECK(StatusKib("VmRSS:\t kB\n", "VmRSS") == -1);
}
