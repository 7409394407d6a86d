#include "arm/change_window.h"
#include "core/state_dir_test_support.h"

#include <signal.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstdlib>
#include <ctime>

using namespace haltfw;

namespace {

bool JournalExists() { return access(ChangeJournalPath().c_str(), F_OK) == 0; }

ChangeJournal Interrupted(const std::string& verb) { return {4242, verb, 1000, 1001, "load the ruleset"}; }

}  // namespace

TEST_CASE("journal text round trip") {
    ChangeJournal j{1234, "apply", 1700000000, 1700000002, "interface 'lan' (lan0): add address 192.0.2.1/24\nmore"};
    std::string text = SerializeJournal(j);
    CHECK(text ==
          "pid=1234\nverb=apply\nstarted=1700000000\nstep_time=1700000002\n"
          "step=interface 'lan' (lan0): add address 192.0.2.1/24 more\n");
    ChangeJournal back;
    std::string err;
    REQUIRE(ParseJournal(text, &back, &err));
    CHECK(back.pid == 1234);
    CHECK(back.verb == "apply");
    CHECK(back.started == 1700000000);
    CHECK(back.step_time == 1700000002);
    CHECK(back.step == "interface 'lan' (lan0): add address 192.0.2.1/24 more");
    CHECK_FALSE(ParseJournal("", &back, &err));
    CHECK(err == "no pid and verb in it");
}

TEST_CASE("what the next run says") {
    setenv("TZ", "UTC", 1);
    tzset();
    CHECK(
        InterruptedNotice({1234, "apply", 1700000000, 1700000002, "sysctl net.ipv4.ip_forward = 1 (was 0)"}) ==
        "an apply (pid 1234) was interrupted at 2023-11-14 22:13:22, during 'sysctl net.ipv4.ip_forward = 1 (was 0)'; "
        "run 'haltfw apply' to converge");
    CHECK(InterruptedNotice({7, "disarm", 1700000000, 0, ""}) ==
          "a disarm (pid 7) was interrupted at 2023-11-14 22:13:20; run 'haltfw disarm' to converge");
    // Converging need not halt the box.
    CHECK(InterruptedNotice({7, "halt", 1700000000, 1700000000, "x"}).ends_with("; run 'haltfw arm' to converge"));
    unsetenv("TZ");
    tzset();
}

TEST_CASE("which verb converges which") {
    CHECK(Converges("apply", "apply"));
    CHECK_FALSE(Converges("apply", "arm"));  // arm's exitrd and guards are not apply's
    CHECK(Converges("arm", "apply"));
    CHECK(Converges("arm", "halt"));
    CHECK(Converges("halt", "arm"));
    CHECK_FALSE(Converges("disarm", "apply"));
    CHECK(Converges("disarm", "disarm"));
}

TEST_CASE("signal names") {
    CHECK(SignalName(SIGINT) == "SIGINT");
    CHECK(SignalName(SIGHUP) == "SIGHUP");
}

TEST_CASE("held signals wait, once each, for the end") {
    sigset_t before;
    sigprocmask(SIG_SETMASK, nullptr, &before);
    {
        HeldSignals held;
        CHECK(held.Pending() == 0);
        raise(SIGTERM);
        CHECK(held.Pending() == SIGTERM);
        raise(SIGTERM);  // a second one changes nothing
        raise(SIGHUP);
        CHECK(held.Pending() == SIGHUP);  // the lowest-numbered
        CHECK(held.Take() == SIGHUP);
        CHECK(held.Pending() == 0);
        raise(SIGINT);
    }  // consumed, not delivered (that would end the test run)
    sigset_t after;
    sigprocmask(SIG_SETMASK, nullptr, &after);
    CHECK(sigismember(&after, SIGINT) == sigismember(&before, SIGINT));
    CHECK(sigismember(&after, SIGTERM) == sigismember(&before, SIGTERM));
}

TEST_CASE("an ignored signal stays ignored") {
    struct sigaction ign {}, old {};
    ign.sa_handler = SIG_IGN;
    sigaction(SIGQUIT, &ign, &old);
    {
        HeldSignals held;
        raise(SIGQUIT);
        CHECK(held.Pending() == 0);
    }
    sigaction(SIGQUIT, &old, nullptr);
}

TEST_CASE("the change window's journal") {
    ScratchStateDir scratch("window");
    std::string err;

    SECTION("open to close: written, stepped, gone") {
        ChangeWindow w("apply", std::nullopt);
        CHECK_FALSE(JournalExists());
        REQUIRE(w.Open(&err));
        ChangeJournal j;
        REQUIRE(ReadJournal(&j, &err));
        CHECK(j.pid == getpid());
        CHECK(j.verb == "apply");
        w.Step("load the ruleset", &err);
        REQUIRE(ReadJournal(&j, &err));
        CHECK(j.step == "load the ruleset");
        raise(SIGINT);
        CHECK(w.Signal() == SIGINT);
        w.Reached("the apply was finished first", ChangeWindow::Ending::kDone);
        CHECK(w.Close(true, &err) == SIGINT);
        CHECK(err.empty());
        CHECK_FALSE(JournalExists());
    }
    SECTION("rolled back over an interrupted run: its journal comes back") {
        ChangeWindow first("apply", std::nullopt);
        REQUIRE(first.Open(&err));
        ChangeWindow w("apply", Interrupted("apply"));
        REQUIRE(w.Open(&err));
        w.Reached("every change was rolled back", ChangeWindow::Ending::kUndone);
        CHECK(w.Close(false, &err) == 0);
        ChangeJournal j;
        REQUIRE(ReadJournal(&j, &err));
        CHECK(j.pid == 4242);
        CHECK(j.step == "load the ruleset");
        first.Reached("", ChangeWindow::Ending::kHalf);
    }
    SECTION("done over an interrupted run of another verb: its journal comes back") {
        ChangeWindow w("apply", Interrupted("disarm"));
        REQUIRE(w.Open(&err));
        w.Reached("done", ChangeWindow::Ending::kDone);
        w.Close(true, &err);
        ChangeJournal j;
        REQUIRE(ReadJournal(&j, &err));
        CHECK(j.verb == "disarm");
    }
    SECTION("an incomplete rollback leaves this run's journal") {
        ChangeWindow w("arm", std::nullopt);
        REQUIRE(w.Open(&err));
        w.Reached("the rollback is incomplete", ChangeWindow::Ending::kHalf);
        w.Close(false, &err);
        ChangeJournal j;
        REQUIRE(ReadJournal(&j, &err));
        CHECK(j.pid == getpid());
        CHECK(j.verb == "arm");
    }
    SECTION("never opened: a success converges, a failure leaves it") {
        {
            ChangeWindow opened("apply", std::nullopt);
            REQUIRE(opened.Open(&err));
        }  // ended without a word: treated as half, the journal stays
        REQUIRE(JournalExists());
        ChangeJournal j;
        REQUIRE(ReadJournal(&j, &err));
        ChangeWindow failed("apply", j);
        CHECK(failed.Close(false, &err) == 0);
        CHECK(JournalExists());
        ChangeWindow ok("apply", j);
        CHECK(ok.Close(true, &err) == 0);
        CHECK_FALSE(JournalExists());
    }
}
