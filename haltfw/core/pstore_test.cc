#include "core/pstore.h"

#include <catch2/catch.hpp>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "base/scratch_dir_test_support.h"
#include "halt/manifest.h"
#include "halt/report.h"
#include "nft/sha256.h"

using namespace haltfw;

namespace {

// The end of a 6.1 kernel log as efi-pstore keeps it: Part1 of a panic
// from an NMI (unknown_nmi_panic), as pstore_dump writes it.
const std::string kPart1 =
    "Panic#1 Part1\n"
    "<6>[   38.911206] HALTFW: ALIVE up=38 load1=0.00\n"
    "<0>[   41.551234] Kernel panic - not syncing: NMI: Not continuing\n"
    "<4>[   41.551301] CPU: 0 PID: 0 Comm: swapper/0 Not tainted 6.1.0-57-amd64 #1  Debian 6.1.158-1\n";
const std::string kPart2 = "Panic#1 Part2\n<6>[   30.000000] e1000: eth1 NIC Link is Up\n";

// A day into 2026, as the kernel's time of a record.
constexpr int64_t kCrash = 1796428800;  // 2026-12-05 00:00:00 UTC

PstoreRecord Rec(const std::string& name, const std::string& text, int64_t time, bool archived,
                 const std::string& dir) {
    PstoreRecord r;
    r.name = name;
    REQUIRE(ParsePstoreName(name, &r.type, &r.backend));
    r.dir = dir;
    r.archived = archived;
    r.time = time;
    if (r.type == "dmesg") ParseDmesgText(text, &r.header, &r.message);
    return r;
}

PstoreScan Scan(std::string backend, std::vector<PstoreRecord> records) {
    PstoreScan s;
    s.backend = std::move(backend);
    s.records = std::move(records);
    s.fs = "/sys/fs/pstore";
    s.archive = "/var/lib/systemd/pstore";
    return s;
}

int64_t NowNs() {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::system_clock::now().time_since_epoch())
        .count();
}

// Sets a file's mtime (the kernel's time of a record).
void SetTime(const std::string& path, int64_t t) {
    struct timespec ts[2] = {{static_cast<time_t>(t), 0}, {static_cast<time_t>(t), 0}};
    REQUIRE(utimensat(AT_FDCWD, path.c_str(), ts, AT_SYMLINK_NOFOLLOW) == 0);
}

// A scratch tree laid out as the kernel and systemd-pstore lay it out.
struct Tree {
    ScratchDir d{"pstore"};
    PstorePaths p;
    Tree() {
        REQUIRE_FALSE(d.path.empty());
        p = {d.path + "/backend", d.path + "/fs", d.path + "/archive"};
        REQUIRE(mkdir(p.fs.c_str(), 0755) == 0);
    }
};

}  // namespace

TEST_CASE("pstore record names: TYPE-BACKEND-ID[.enc.z], TYPE one of the kernel's") {
    std::string type, backend;
    struct Good {
        const char *name, *type, *backend;
    };
    for (Good g : {Good{"dmesg-efi-173340002401001", "dmesg", "efi"}, Good{"dmesg-efi-1.enc.z", "dmesg", "efi"},
                   Good{"console-ramoops-0", "console", "ramoops"}, Good{"dmesg-efi_pstore-12", "dmesg", "efi_pstore"},
                   Good{"powerpc-ofw-nvram-3", "powerpc-ofw", "nvram"}, Good{"dmesg-erst-7", "dmesg", "erst"},
                   Good{"pmsg-ramoops-0", "pmsg", "ramoops"}, Good{"mce-erst-5", "mce", "erst"}}) {
        INFO(g.name);
        REQUIRE(ParsePstoreName(g.name, &type, &backend));
        CHECK(type == g.type);
        CHECK(backend == g.backend);
    }
    for (const char* bad : {"", "dmesg.txt", "dmesg-efi-", "dmesg--1", "dmesg-efi", "foo-efi-1", "dmesg-efi-12a",
                            "dmesg-e fi-1", "dmesg-efi-1\n", "-1", "dmesg-efi-123456789012345678901", "dmesg-efi-1.enc",
                            "dmesg-ef\xc3\xa9-1", ".enc.z", "dmesgx-efi-1"}) {
        INFO(bad);
        CHECK_FALSE(ParsePstoreName(bad, &type, &backend));
    }
}

TEST_CASE("a dmesg part's header and the line that says what crashed") {
    std::string header, message;
    ParseDmesgText(kPart1, &header, &message);
    CHECK(header == "Panic#1 Part1");
    CHECK(message == "Kernel panic - not syncing: NMI: Not continuing");
    ParseDmesgText(kPart2, &header, &message);
    CHECK(header == "Panic#1 Part2");
    CHECK(message.empty());
    // An oops: its first sign, not the panic_on_oops panic that may follow.
    ParseDmesgText("Oops#1 Part1\r\n<1>[    5.0] BUG: kernel NULL pointer dereference, address: 0000000000000000\r\n"
                   "<4>[    5.1] Oops: 0002 [#1] PREEMPT SMP NOPTI\r\n",
                   &header, &message);
    CHECK(header == "Oops#1 Part1");
    CHECK(message == "BUG: kernel NULL pointer dereference, address: 0000000000000000");
    // Inside a word it is not the kernel's.
    ParseDmesgText("Oops#1 Part1\n<7>[ 4.0] usb DEBUG: x\n<1>[ 5.0] BUG: soft lockup\n", &header, &message);
    CHECK(message == "BUG: soft lockup");
    ParseDmesgText("Oops#1 Part1\nDEBUG: x\n", &header, &message);
    CHECK(message.empty());
    // Both: the panic's line wins.
    ParseDmesgText("Panic#2 Part1\n<1>[ 5.0] BUG: unable to handle page fault\n<0>[ 5.2] Kernel panic - not syncing: "
                   "Fatal exception\n",
                   &header, &message);
    CHECK(message == "Kernel panic - not syncing: Fatal exception");
    // Not text, or no header: nothing invented; control bytes as '?', and a
    // long line cut.
    ParseDmesgText(TestBytes(4096), &header, &message);
    CHECK(header.empty());
    ParseDmesgText("Panic#1 PartX\nKernel panic - not syncing: a\x01\x7f" + std::string(500, 'z') + "\n", &header,
                   &message);
    CHECK(header.empty());
    CHECK(message == "Kernel panic - not syncing: a??" + std::string(kPstoreMessageMax - 31, 'z'));
    ParseDmesgText("", &header, &message);
    CHECK(header.empty());
    CHECK(message.empty());
}

TEST_CASE("the report's pstore line: none, no backend, one dump in parts, several, where they are") {
    CHECK(PstoreLine(Scan("", {})) == "no backend: the kernel has nowhere to keep a record of a crash across a reboot");
    CHECK(PstoreLine(Scan("efi", {})) == "no crash record from before this boot (backend efi)");
    CHECK(PstoreLine(Scan("?", {})) == "no crash record from before this boot (backend unknown)");
    // A console record is not a crash's.
    CHECK(PstoreLine(Scan("ramoops", {Rec("console-ramoops-0", "", kCrash, false, "/sys/fs/pstore")})) ==
          "no crash record from before this boot (backend ramoops)");

    // Archived by systemd-pstore, in the directory of its ID.
    const std::string dir = "/var/lib/systemd/pstore/179642880";
    PstoreScan one = Scan("efi", {Rec("dmesg-efi-179642880002001", kPart2, kCrash, true, dir),
                                  Rec("dmesg-efi-179642880001001", kPart1, kCrash, true, dir)});
    CHECK(PstoreLine(one) ==
          "a crash record from before this boot (efi, Panic#1 at 2026-12-05 00:00:00 UTC, 2 parts): Kernel panic - "
          "not syncing: NMI: Not continuing; archived by systemd-pstore in /var/lib/systemd/pstore/179642880");

    // Still in /sys/fs/pstore: said to come back at every boot.
    PstoreScan kept = Scan("efi", {Rec("dmesg-efi-179642880001001", kPart1, kCrash + 7, false, "/sys/fs/pstore")});
    CHECK(PstoreLine(kept) ==
          "a crash record from before this boot (efi, Panic#1 at 2026-12-05 00:00:07 UTC): Kernel panic - not "
          "syncing: NMI: Not continuing; still in /sys/fs/pstore, reported at every boot until deleted there");

    // An oops and the panic it led to (panic_on_oops), and an older crash:
    // three dumps, the last one's line.
    PstoreScan three = Scan(
        "efi", {Rec("dmesg-efi-100", "Panic#1 Part1\nKernel panic - not syncing: old one\n", kCrash - 86400, false,
                    "/sys/fs/pstore"),
                Rec("dmesg-efi-200", "Oops#1 Part1\nBUG: soft lockup\n", kCrash, true, dir),
                Rec("dmesg-efi-300", "Panic#2 Part1\nKernel panic - not syncing: Fatal exception\n", kCrash + 1, true,
                    dir)});
    CHECK(PstoreLine(three) ==
          "3 crash records from before this boot (efi; the last Panic#2 at 2026-12-05 00:00:01 UTC): Kernel panic - "
          "not syncing: Fatal exception; archived by systemd-pstore in /var/lib/systemd/pstore/179642880; still in "
          "/sys/fs/pstore, reported at every boot until deleted there");

    // One Panic#1 a day apart is two crashes (two boots), not two parts.
    PstoreScan two = Scan("efi", {Rec("dmesg-efi-1", kPart1, kCrash - 86400, true, dir),
                                  Rec("dmesg-efi-2", kPart1, kCrash, true, "/var/lib/systemd/pstore/2")});
    CHECK(PstoreLine(two) ==
          "2 crash records from before this boot (efi; the last Panic#1 at 2026-12-05 00:00:00 UTC): Kernel panic - "
          "not syncing: NMI: Not continuing; archived by systemd-pstore in 2 directories of /var/lib/systemd/pstore");

    // Unreadable, compressed, silent.
    PstoreRecord bad = Rec("dmesg-efi-5", "", kCrash, false, "/sys/fs/pstore");
    bad.error = "Permission denied";
    CHECK(PstoreLine(Scan("efi", {bad})) ==
          "a crash record from before this boot (efi, dmesg-efi-5 at 2026-12-05 00:00:00 UTC): its text could not be "
          "read (Permission denied); still in /sys/fs/pstore, reported at every boot until deleted there");
    CHECK(PstoreLine(Scan("efi", {Rec("dmesg-efi-5.enc.z", TestBytes(100), 0, false, "/sys/fs/pstore")})) ==
          "a crash record from before this boot (efi, dmesg-efi-5.enc.z at an unknown time): its text is compressed "
          "and the kernel could not expand it; still in /sys/fs/pstore, reported at every boot until deleted there");
    CHECK(PstoreLine(Scan("efi", {Rec("dmesg-efi-5", kPart2, kCrash, true, dir)})) ==
          "a crash record from before this boot (efi, Panic#1 at 2026-12-05 00:00:00 UTC): no line in it says why; "
          "archived by systemd-pstore in /var/lib/systemd/pstore/179642880");

    // A hostile directory name cannot break the report's line.
    PstoreScan odd = Scan("efi", {Rec("dmesg-efi-5", kPart1, kCrash, true, "/a\nHALTFW: HALTED-OK\x1b")});
    std::string line = PstoreLine(odd);
    CHECK(line.find('\n') == std::string::npos);
    CHECK(line.ends_with("archived by systemd-pstore in /a?HALTFW: HALTED-OK?"));
}

TEST_CASE("scanning: /sys/fs/pstore's records, the archive's of this boot only, nothing followed or read whole") {
    Tree t;
    ScratchDir& d = t.d;
    d.Write("backend", "efi\n");
    SetTime(d.Write("fs/dmesg-efi-179642880001001", kPart1), kCrash);
    SetTime(d.Write("fs/dmesg-efi-179642880002001", kPart2), kCrash);
    // Odd entries: a name that is not a record's, a link to a record, a
    // directory and a FIFO named like records.
    d.Write("fs/notes.txt", "hello");
    d.Write("elsewhere/dmesg-efi-9", kPart1);
    REQUIRE(symlink((d.path + "/elsewhere/dmesg-efi-9").c_str(), (t.p.fs + "/dmesg-efi-9").c_str()) == 0);
    REQUIRE(mkdir((t.p.fs + "/dmesg-efi-10").c_str(), 0755) == 0);
    REQUIRE(mkfifo((t.p.fs + "/dmesg-efi-11").c_str(), 0600) == 0);

    PstoreScan s = ScanPstore(t.p, NowNs() - 3600'000'000'000);
    CHECK(s.backend == "efi");
    REQUIRE(s.records.size() == 2);
    CHECK(s.records[0].name == "dmesg-efi-179642880001001");
    CHECK(s.records[0].dir == t.p.fs);
    CHECK_FALSE(s.records[0].archived);
    CHECK(s.records[0].time == kCrash);
    CHECK(s.records[0].header == "Panic#1 Part1");
    CHECK(s.records[0].message == "Kernel panic - not syncing: NMI: Not continuing");
    CHECK(s.records[1].header == "Panic#1 Part2");
    CHECK(s.ignored == std::vector<std::string>{t.p.fs + "/dmesg-efi-10: a directory, not a file",
                                                t.p.fs + "/dmesg-efi-11: a FIFO, not a file",
                                                t.p.fs + "/dmesg-efi-9: a symbolic link, not a file",
                                                t.p.fs + "/notes.txt: not a pstore record's name"});
    CHECK(PstoreLine(s) == "a crash record from before this boot (efi, Panic#1 at 2026-12-05 00:00:00 UTC, 2 parts): "
                           "Kernel panic - not syncing: NMI: Not continuing; still in " +
                               t.p.fs + ", reported at every boot until deleted there");

    // No backend registered ("(null)"), no directories: nothing, and no
    // complaint about what is not there.
    Tree none;
    none.d.Write("backend", "(null)\n");
    REQUIRE(rmdir(none.p.fs.c_str()) == 0);
    PstoreScan n = ScanPstore(none.p, 0);
    CHECK(n.backend.empty());
    CHECK(n.records.empty());
    CHECK(n.ignored.empty());
    CHECK(PstoreLine(n) == "no backend: the kernel has nowhere to keep a record of a crash across a reboot");
    // A kernel without pstore: no parameter file at all.
    REQUIRE(unlink(none.p.backend.c_str()) == 0);
    CHECK(ScanPstore(none.p, 0).backend.empty());
    // The store's path is a symbolic link: not followed.
    REQUIRE(symlink(t.p.fs.c_str(), none.p.fs.c_str()) == 0);
    PstoreScan linked = ScanPstore(none.p, 0);
    CHECK(linked.records.empty());
    CHECK(linked.ignored == std::vector<std::string>{none.p.fs + ": a symbolic link, not a directory"});
}

TEST_CASE("scanning the archive: what systemd-pstore moved during this boot, not what it kept from earlier ones") {
    Tree t;
    ScratchDir& d = t.d;
    d.Write("backend", "efi\n");
    // As systemd-pstore leaves a dump: its parts (their times kept) and its
    // own joined copy, dmesg.txt, in a directory named after the ID.
    SetTime(d.Write("archive/179642880/dmesg-efi-179642880001001", kPart1), kCrash);
    SetTime(d.Write("archive/179642880/dmesg-efi-179642880002001", kPart2), kCrash);
    d.Write("archive/179642880/dmesg.txt", "dmesg-efi-179642880002001:\n" + kPart2);
    d.Write("archive/179642880/odd", "x");
    SetTime(d.Write("archive/console-ramoops-0", "console"), kCrash);

    // Archived during this boot (the files' change times are now).
    PstoreScan s = ScanPstore(t.p, NowNs() - 60'000'000'000);
    REQUIRE(s.records.size() == 3);
    CHECK(s.records[0].name == "dmesg-efi-179642880001001");
    CHECK(s.records[0].dir == t.p.archive + "/179642880");
    CHECK(s.records[0].archived);
    CHECK(s.records[0].time == kCrash);
    CHECK(s.records[2].name == "console-ramoops-0");
    CHECK(s.ignored == std::vector<std::string>{t.p.archive + "/179642880/odd: not a pstore record's name"});
    CHECK(PstoreLine(s) == "a crash record from before this boot (efi, Panic#1 at 2026-12-05 00:00:00 UTC, 2 parts): "
                           "Kernel panic - not syncing: NMI: Not continuing; archived by systemd-pstore in " +
                               t.p.archive + "/179642880");

    // At a later boot the same archive is old news: not read, not reported.
    PstoreScan later = ScanPstore(t.p, NowNs() + 60'000'000'000);
    CHECK(later.records.empty());
    CHECK(later.ignored.empty());
    CHECK(PstoreLine(later) == "no crash record from before this boot (backend efi)");
}

TEST_CASE("scanning the archive: earlier boots' directories, however many, never crowd out this boot's") {
    Tree t;
    ScratchDir& d = t.d;
    d.Write("backend", "efi\n");
    // A box that crashed and came back many times: more old dumps than the
    // cap on a directory's entries.
    for (size_t i = 0; i < kPstoreEntriesMax + 50; ++i)
        d.Write("archive/" + std::to_string(100000 + i) + "/dmesg-efi-" + std::to_string(100000 + i) + "001001", kPart1);
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    int64_t boot = NowNs();
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    SetTime(d.Write("archive/179642880/dmesg-efi-179642880001001", kPart1), kCrash);
    PstoreScan s = ScanPstore(t.p, boot);
    REQUIRE(s.records.size() == 1);
    CHECK(s.records[0].dir == t.p.archive + "/179642880");
    CHECK(s.ignored.empty());
}

TEST_CASE("scanning hostile stores: a huge record read only in part, a crowded directory cut short") {
    Tree t;
    ScratchDir& d = t.d;
    d.Write("backend", "efi\n");
    // 4 MiB: the header and panic line at its start are found; a panic line
    // past kPstoreReadMax is never read.
    std::string huge = kPart1 + std::string(4 << 20, 'x');
    d.Write("fs/dmesg-efi-1", huge);
    d.Write("fs/dmesg-efi-2", "Panic#1 Part2\n" + std::string(kPstoreReadMax, 'y') +
                                  "\nKernel panic - not syncing: beyond the read\n");
    auto t0 = std::chrono::steady_clock::now();
    PstoreScan s = ScanPstore(t.p, 0);
    CHECK(std::chrono::steady_clock::now() - t0 < std::chrono::seconds(2));
    REQUIRE(s.records.size() == 2);
    CHECK(s.records[0].message == "Kernel panic - not syncing: NMI: Not continuing");
    CHECK(s.records[1].header == "Panic#1 Part2");
    CHECK(s.records[1].message.empty());

    Tree crowd;
    crowd.d.Write("backend", "efi\n");
    for (size_t i = 0; i < kPstoreEntriesMax + 10; ++i)
        crowd.d.Write("fs/dmesg-efi-" + std::to_string(1000 + i), "Panic#1 Part" + std::to_string(i + 1) + "\n");
    PstoreScan c = ScanPstore(crowd.p, 0);
    CHECK(c.records.size() == kPstoreEntriesMax);
    CHECK(c.ignored == std::vector<std::string>{crowd.p.fs + ": more than " + std::to_string(kPstoreEntriesMax) +
                                                " entries; the rest not read"});
}

TEST_CASE("scanning: a record that cannot be read is counted, and says why") {
    Tree t;
    ScratchDir& d = t.d;
    d.Write("backend", "efi\n");
    std::string path = d.Write("fs/dmesg-efi-7", kPart1);
    SetTime(path, kCrash);
    REQUIRE(chmod(path.c_str(), 0) == 0);
    // Root reads it all the same: the scan runs as nobody then, in a child.
    std::string line;
    if (geteuid() != 0) {
        line = PstoreLine(ScanPstore(t.p, 0));
    } else {
        REQUIRE(chmod(d.path.c_str(), 0755) == 0);
        int fds[2];
        REQUIRE(pipe(fds) == 0);
        pid_t pid = fork();
        REQUIRE(pid >= 0);
        if (pid == 0) {
            (void)close(fds[0]);
            if (setgid(65534) != 0 || setuid(65534) != 0) _exit(1);
            std::string l = PstoreLine(ScanPstore(t.p, 0));
            _exit(write(fds[1], l.data(), l.size()) == static_cast<ssize_t>(l.size()) ? 0 : 1);
        }
        (void)close(fds[1]);
        char buf[1024];
        ssize_t n;
        while ((n = read(fds[0], buf, sizeof buf)) > 0) line.append(buf, static_cast<size_t>(n));
        (void)close(fds[0]);
        int status = 0;
        REQUIRE(waitpid(pid, &status, 0) == pid);
        REQUIRE(WIFEXITED(status));
        REQUIRE(WEXITSTATUS(status) == 0);
    }
    CHECK(line == "a crash record from before this boot (efi, dmesg-efi-7 at 2026-12-05 00:00:00 UTC): its text could "
                  "not be read (Permission denied); still in " +
                      t.p.fs + ", reported at every boot until deleted there");
}

TEST_CASE("the pstore line travels in the manifest as it is, and never makes a report unproven") {
    Manifest m;
    m.version = "0.1.0";
    m.digest = std::string(64, 'a');
    m.pstore = "a crash record from before this boot (efi, Panic#1 at 2026-12-05 00:00:00 UTC): Kernel panic - not "
               "syncing: VFS: Unable to mount root fs; mount failed";
    std::string text = SerializeManifest(m);
    CHECK(text.find("\npstore " + m.pstore + "\n") != std::string::npos);
    Manifest back;
    std::string err;
    REQUIRE(ParseManifest(text, &back, &err));
    CHECK(back.pstore == m.pstore);
    CHECK(SerializeManifest(back) == text);
    // None: no line, none read back.
    m.pstore.clear();
    REQUIRE(ParseManifest(SerializeManifest(m), &back, &err));
    CHECK(back.pstore.empty());
    // Written only as the reader takes it: a control byte becomes '?', and
    // an over-long line is cut.
    m.pstore = "a\x01z" + std::string(2000, 'q');
    REQUIRE(ParseManifest(SerializeManifest(m), &back, &err));
    CHECK(back.pstore == "a?z" + std::string(kMaxPstoreLine - 3, 'q'));
    // A sealed manifest with a bad one is refused whole.
    for (std::string bad : {std::string("pstore a\x01z"), "pstore " + std::string(kMaxPstoreLine + 1, 'q'),
                            std::string("pstore ")}) {
        std::string body = "haltfw-manifest 1\nversion 0.1.0\ndigest " + std::string(64, 'b') + "\n" + bad + "\n";
        Sha256 h;
        h.Update(body);
        CHECK_FALSE(ParseManifest(body + "end " + h.HexFinal() + "\n", &back, &err));
        CHECK(err == "manifest: line 4: bad pstore record");
    }

    // The report: a crash before this boot, quoted with "failed" in it,
    // leaves a good halt proven; the same word on another line does not.
    HaltReport r;
    r.version = "0.1.0";
    r.ok = true;
    const std::string digest(64, 'c');
    r.lines = {"processes: none but PID 1 (31 kernel threads)", "ruleset: digest " + digest + " as armed (4 objects)",
               "pstore: " + back.pstore + "; mount failed, cannot go on, STILL here"};
    r.fields = {{"digest", digest}, {"links", "2"}};
    CHECK(WhyNotProven(ParseConsole(FormatReport(r)), digest) == "");
    r.lines.push_back("links: failed");
    CHECK(WhyNotProven(ParseConsole(FormatReport(r)), digest) == "the report's body says 'links: failed'");
}
