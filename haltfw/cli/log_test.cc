#include "cli/log.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <string>

using namespace haltfw;

namespace {

// A pipe whose read end collects what a Log wrote to the write end.
struct Capture {
    int fd[2] = {-1, -1};
    Capture() { REQUIRE(pipe2(fd, O_CLOEXEC | O_NONBLOCK) == 0); }
    ~Capture() {
        close(fd[0]);
        close(fd[1]);
    }
    std::string Take() {
        std::string s;
        char buf[4096];
        for (ssize_t n; (n = read(fd[0], buf, sizeof buf)) > 0;) s.append(buf, static_cast<size_t>(n));
        return s;
    }
    std::string JournalStreamValue() const {
        struct stat st;
        REQUIRE(fstat(fd[1], &st) == 0);
        return std::to_string(st.st_dev) + ":" + std::to_string(st.st_ino);
    }
};

}  // namespace

TEST_CASE("IsJournalStream matches the fd $JOURNAL_STREAM names, and only it") {
    Capture a, b;
    std::string value = a.JournalStreamValue();
    CHECK(IsJournalStream(a.fd[1], value.c_str()));
    CHECK_FALSE(IsJournalStream(b.fd[1], value.c_str()));
    CHECK_FALSE(IsJournalStream(a.fd[1], nullptr));
    for (const char* bad : {"", "12", "12:", ":34", "x:34", "12:34x", "12:34:56"}) {
        INFO(bad);
        CHECK_FALSE(IsJournalStream(a.fd[1], bad));
    }
    CHECK_FALSE(IsJournalStream(-1, value.c_str()));
}

TEST_CASE("On a terminal: plain lines, errors and warnings on stderr with haltfw's prefix") {
    Capture out, err;
    Log log(Verbosity::kNormal, {out.fd[1], false}, {err.fd[1], false});
    log.Say(Priority::kInfo, "applied 3 changes");
    log.Say(Priority::kNotice, "nothing to change");
    log.Say(Priority::kDebug, "  set net.ipv4.ip_forward = 1");
    log.Say(Priority::kWarning, "cannot read the state file, ignoring");
    log.Say(Priority::kErr, "the ruleset does not load; nothing changed");
    log.Detail(Priority::kErr, "/etc/haltfw/haltfw.conf:3: bad\n/etc/haltfw/haltfw.conf:4: worse\n");
    log.Result("ready to halt (0 blockers, 0 warnings)", Priority::kNotice);
    CHECK(out.Take() == "applied 3 changes\nnothing to change\nready to halt (0 blockers, 0 warnings)\n");
    CHECK(err.Take() ==
          "haltfw: warning: cannot read the state file, ignoring\n"
          "haltfw: the ruleset does not load; nothing changed\n"
          "/etc/haltfw/haltfw.conf:3: bad\n/etc/haltfw/haltfw.conf:4: worse\n");
}

TEST_CASE("Quiet keeps errors, warnings and results, verbose adds detail") {
    Capture out, err;
    Log quiet(Verbosity::kQuiet, {out.fd[1], false}, {err.fd[1], false});
    quiet.Say(Priority::kInfo, "progress");
    quiet.Say(Priority::kNotice, "notice");
    quiet.Say(Priority::kWarning, "warned");
    quiet.Result("the result");
    CHECK(out.Take() == "the result\n");
    CHECK(err.Take() == "haltfw: warning: warned\n");

    Log verbose(Verbosity::kVerbose, {out.fd[1], false}, {err.fd[1], false});
    verbose.Say(Priority::kDebug, "detail");
    CHECK(out.Take() == "detail\n");
    CHECK_FALSE(Log(Verbosity::kNormal, {}, {}).Shows(Priority::kDebug));
    CHECK(verbose.verbose());
}

TEST_CASE("In the journal: every line carries its priority, no haltfw prefix") {
    Capture out, err;
    Log log(Verbosity::kNormal, {out.fd[1], true}, {err.fd[1], true});
    log.Say(Priority::kErr, "cannot arm: 1 blocker; nothing armed");
    log.Say(Priority::kWarning, "devices: not all configured devices are ready after 90 s; going on");
    log.Detail(Priority::kErr, "rules.nft:2:1-5: Error: syntax error\nacept\n^^^^^");
    log.Say(Priority::kInfo, "ruleset: loaded");
    log.Result("armed: digest 00", Priority::kNotice);
    log.Result("BLOCKER: no ruleset", Priority::kErr);
    CHECK(err.Take() ==
          "<3>cannot arm: 1 blocker; nothing armed\n"
          "<4>devices: not all configured devices are ready after 90 s; going on\n"
          "<3>rules.nft:2:1-5: Error: syntax error\n<3>acept\n<3>^^^^^\n");
    CHECK(out.Take() == "<6>ruleset: loaded\n<5>armed: digest 00\n<3>BLOCKER: no ruleset\n");
}

TEST_CASE("Blank lines inside a message survive, trailing newlines do not double") {
    Capture out, err;
    Log log(Verbosity::kNormal, {out.fd[1], false}, {err.fd[1], false});
    log.Result("table inet f {\n}\n\ntable ip nat {\n}\n");
    CHECK(out.Take() == "table inet f {\n}\n\ntable ip nat {\n}\n");
}
