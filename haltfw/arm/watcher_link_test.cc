#include "arm/watcher_link.h"

#include <catch2/catch.hpp>

#include <algorithm>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

using namespace haltfw;
using namespace std::chrono_literals;

namespace {

using Clock = WatcherEffects::Clock;

// The watcher, its state file, systemd and the clock, in memory. Time moves
// only in Wait: to the next scheduled happening (the watcher writing its
// state, dying, the unit stopping) if there is one before `until`, else to
// `until`. Signals, jobs and kills are recorded in `calls` and may schedule
// what follows through the on_* hooks.
class FakeWatcher : public WatcherEffects {
public:
    std::optional<WatchState> state;
    std::set<long> running;   ///< Pids that are live watchers.
    std::set<long> replaced;  ///< Pids whose program was replaced.
    std::string unit = "active";
    std::string unit_fails;   ///< "start", "restart", "stop", "state": that call fails.
    std::vector<std::string> calls;
    int waits = 0;
    std::function<void(long)> on_signal;
    std::function<void(UnitJob)> on_job;
    std::function<void(long)> on_kill;
    Clock::time_point start = Clock::time_point() + 1h;
    Clock::time_point now = start;

    // Runs `what` `after` from now.
    void Later(Clock::duration after, std::function<void()> what) { later_.push_back({now + after, std::move(what)}); }
    // The watcher `pid` running, with its state written.
    void Runs(long pid, bool watching = false, int guard = 0) {
        running.insert(pid);
        state = WatchState{pid, watching, 0, 0, guard};
    }
    Clock::duration elapsed() const { return now - start; }

    bool ReadState(WatchState* ws) override {
        if (state) *ws = *state;
        return state.has_value();
    }
    void RemoveState() override {
        calls.push_back("remove state");
        state.reset();
    }
    bool IsWatcher(long pid) override { return running.count(pid) > 0; }
    bool ProgramReplaced(long pid) override { return replaced.count(pid) > 0; }
    bool SignalWatching(long pid, std::string* err) override {
        calls.push_back("signal " + std::to_string(pid));
        if (!running.count(pid)) {
            *err = "No such process";
            return false;
        }
        if (on_signal) on_signal(pid);
        return true;
    }
    void Kill(long pid) override {
        calls.push_back("kill " + std::to_string(pid));
        if (on_kill) on_kill(pid);
    }
    bool Unit(UnitJob job, std::string* err) override {
        std::string name = job == UnitJob::kStart ? "start" : job == UnitJob::kRestart ? "restart" : "stop";
        calls.push_back(name + " unit");
        if (unit_fails == name) {
            *err = name + " 'haltfw-watch.service' (job mode replace): refused";
            return false;
        }
        if (on_job) on_job(job);
        return true;
    }
    bool UnitState(std::string* s, std::string* err) override {
        if (unit_fails == "state") {
            *err = "connect to systemd: refused";
            return false;
        }
        *s = unit;
        return true;
    }
    Clock::time_point Now() override { return now; }
    Woke Wait(long pid, Clock::time_point until) override {
        ++waits;
        REQUIRE(until >= now);
        if (pid && !running.count(pid)) return Woke::kExited;  // as a pidfd polls
        auto next = std::min_element(later_.begin(), later_.end(),
                                     [](const Happening& a, const Happening& b) { return a.at < b.at; });
        if (next == later_.end() || next->at > until) {
            now = until;
            return Woke::kDeadline;
        }
        now = std::max(now, next->at);
        std::function<void()> what = std::move(next->what);
        later_.erase(next);
        what();
        return pid && !running.count(pid) ? Woke::kExited : Woke::kChanged;
    }

private:
    struct Happening {
        Clock::time_point at;
        std::function<void()> what;
    };
    std::vector<Happening> later_;
};

// What the steps said, one "TONE: text" line each.
struct Said {
    std::vector<std::string> lines;
    Say say() {
        return [this](Tone t, const std::string& s) {
            const char* tone = t == Tone::kDetail     ? "detail"
                               : t == Tone::kProgress ? "progress"
                               : t == Tone::kWarning  ? "warning"
                                                      : "error";
            lines.push_back(std::string(tone) + ": " + s);
        };
    }
};

using Lines = std::vector<std::string>;

}  // namespace

TEST_CASE("halt: the watcher confirms it watches, guarded", "[watcher]") {
    FakeWatcher fx;
    fx.Runs(100);
    fx.on_signal = [&](long pid) { fx.Later(40ms, [&fx, pid] { fx.state = WatchState{pid, true, 0, 0, 2}; }); };
    Said said;
    SetWatcherWatching(&fx, said.say());
    CHECK(fx.calls == Lines{"signal 100"});
    CHECK(said.lines ==
          Lines{"progress: watch: the armed ruleset is guarded through the shutdown by an owned copy no unit "
                "can change, and by haltfw-watch.service (pid 100)"});
    // Woken by the state file's change, not by a clock.
    CHECK(fx.elapsed() == 40ms);
    CHECK(fx.waits == 1);
}

TEST_CASE("halt: a watcher that never says it watches times out after 30 s", "[watcher]") {
    FakeWatcher fx;
    fx.Runs(100);
    Said said;
    SetWatcherWatching(&fx, said.say());
    CHECK(said.lines ==
          Lines{"warning: the ruleset watcher did not say it watches within 30 s: only the final stage may "
                "restore a ruleset changed on the way down"});
    CHECK(fx.elapsed() == 30s);
    CHECK(fx.waits == 1);  // one wait to the deadline, no polling
}

TEST_CASE("halt: a watcher that dies before it watches", "[watcher]") {
    FakeWatcher fx;
    fx.Runs(100);
    fx.on_signal = [&](long pid) { fx.Later(150ms, [&fx, pid] { fx.running.erase(pid); }); };
    Said said;
    SetWatcherWatching(&fx, said.say());
    CHECK(said.lines ==
          Lines{"warning: the ruleset watcher ended instead of watching (see 'systemctl status "
                "haltfw-watch.service'): only the final stage will restore a ruleset changed on the way down"});
    CHECK(fx.elapsed() == 150ms);  // its exit woke the wait
}

TEST_CASE("halt: a watcher that dies with its state file gone waits for a state, not in a loop", "[watcher]") {
    FakeWatcher fx;
    fx.Runs(100);
    fx.on_signal = [&](long pid) {
        fx.Later(150ms, [&fx, pid] {
            fx.running.erase(pid);
            fx.state.reset();
        });
    };
    Said said;
    SetWatcherWatching(&fx, said.say());
    CHECK(said.lines.size() == 1);
    CHECK(said.lines[0].starts_with("warning: the ruleset watcher did not say it watches within 30 s"));
    CHECK(fx.waits <= 3);
}

TEST_CASE("halt: a watcher that reports guard=0 guards by restoring alone", "[watcher]") {
    FakeWatcher fx;
    fx.Runs(100);
    fx.on_signal = [&](long pid) { fx.Later(5ms, [&fx, pid] { fx.state = WatchState{pid, true, 0, 0, 0}; }); };
    Said said;
    SetWatcherWatching(&fx, said.say());
    CHECK(said.lines ==
          Lines{"warning: the ruleset watcher (pid 100) could not load its owned copy of the armed ruleset (its "
                "console line says why): it guards the shutdown by restoring the ruleset alone"});
}

TEST_CASE("halt: an old watcher's pid in the state file: a new one is started and signalled", "[watcher]") {
    FakeWatcher fx;
    fx.state = WatchState{100, true, 3, 0, 1};  // its pid no longer a watcher (dead, or reused)
    fx.on_job = [&](UnitJob job) {
        REQUIRE(job == UnitJob::kStart);
        fx.Later(300ms, [&fx] { fx.Runs(200); });
    };
    fx.on_signal = [&](long pid) { fx.Later(10ms, [&fx, pid] { fx.state = WatchState{pid, true, 0, 0, 1}; }); };
    Said said;
    SetWatcherWatching(&fx, said.say());
    CHECK(fx.calls == Lines{"start unit", "signal 200"});
    REQUIRE(said.lines.size() == 1);
    CHECK(said.lines[0].ends_with("(pid 200)"));
    CHECK(fx.elapsed() == 310ms);
}

TEST_CASE("halt: no watcher comes up: the halt goes on without one", "[watcher]") {
    FakeWatcher fx;
    Said said;
    SetWatcherWatching(&fx, said.say());
    CHECK(fx.calls == Lines{"start unit"});
    CHECK(said.lines ==
          Lines{"warning: the ruleset watcher did not report within 10 s (see 'systemctl status "
                "haltfw-watch.service'): only the final stage will restore a ruleset changed on the way down"});
    CHECK(fx.elapsed() == 10s);

    FakeWatcher refused;
    refused.unit_fails = "start";
    Said said2;
    SetWatcherWatching(&refused, said2.say());
    CHECK(said2.lines ==
          Lines{"warning: the ruleset watcher did not start (start 'haltfw-watch.service' (job mode replace): "
                "refused): only the final stage will restore a ruleset changed on the way down"});
}

TEST_CASE("arm: a watcher on standby is left alone; none is started", "[watcher]") {
    FakeWatcher fx;
    fx.Runs(100);
    Said said;
    StartWatcherOnStandby(&fx, "", said.say());
    CHECK(fx.calls.empty());
    CHECK(said.lines == Lines{"progress: watch: haltfw-watch.service runs (pid 100, on standby)"});

    FakeWatcher none;
    Said said2;
    StartWatcherOnStandby(&none, "", said2.say());
    CHECK(none.calls == Lines{"start unit"});
    CHECK(said2.lines == Lines{"progress: watch: haltfw-watch.service started, on standby until the halt"});

    Said said3;
    StartWatcherOnStandby(&none, "systemd is not running (no /run/systemd/system)", said3.say());
    CHECK(said3.lines == Lines{"progress: watch: not started (systemd is not running (no /run/systemd/system))"});
}

TEST_CASE("arm: a watching watcher is restarted; the old pid's state is not taken for the new one", "[watcher]") {
    FakeWatcher fx;
    fx.Runs(100, true, 1);
    fx.on_job = [&](UnitJob job) {
        REQUIRE(job == UnitJob::kRestart);
        fx.Later(20ms, [&fx] { fx.running.erase(100); });  // the old one's state file stays
        fx.Later(250ms, [&fx] { fx.Runs(200); });
    };
    Said said;
    StartWatcherOnStandby(&fx, "", said.say());
    CHECK(said.lines ==
          Lines{"progress: watch: haltfw-watch.service restarted (it was watching, from a halt that did not "
                "happen), on standby (pid 200)"});
    CHECK(fx.elapsed() == 250ms);
}

TEST_CASE("arm: a watcher whose program was replaced is restarted; one that does not come back is said", "[watcher]") {
    FakeWatcher fx;
    fx.Runs(100);
    fx.replaced.insert(100);
    Said said;
    StartWatcherOnStandby(&fx, "", said.say());
    CHECK(fx.calls == Lines{"restart unit"});
    CHECK(said.lines ==
          Lines{"warning: the ruleset watcher did not come back within 10 s of its restart (its program was "
                "replaced); 'haltfw halt' tries again"});
    CHECK(fx.elapsed() == 10s);
}

TEST_CASE("disarm: systemd stops the watcher", "[watcher]") {
    FakeWatcher fx;
    fx.Runs(100);
    fx.on_job = [&](UnitJob job) {
        REQUIRE(job == UnitJob::kStop);
        fx.Later(30ms, [&fx] { fx.running.erase(100); });
        fx.Later(45ms, [&fx] { fx.unit = "inactive"; });
    };
    Said said;
    CHECK(StopWatcher(&fx, true, said.say()));
    CHECK(fx.calls == Lines{"stop unit"});
    CHECK(said.lines == Lines{"progress: watch: stopped haltfw-watch.service"});
    CHECK(fx.elapsed() < 60ms);
}

TEST_CASE("disarm: without systemd the watcher is killed", "[watcher]") {
    FakeWatcher fx;
    fx.Runs(100);
    fx.on_kill = [&](long pid) { fx.Later(3ms, [&fx, pid] { fx.running.erase(pid); }); };
    Said said;
    CHECK(StopWatcher(&fx, false, said.say()));
    CHECK(fx.calls == Lines{"kill 100"});
    CHECK(said.lines == Lines{"progress: watch: killed the ruleset watcher (pid 100)"});
    CHECK(fx.elapsed() == 3ms);
}

TEST_CASE("disarm: a watcher that neither stops nor dies stops the disarm", "[watcher]") {
    FakeWatcher fx;
    fx.Runs(100);
    Said said;
    CHECK_FALSE(StopWatcher(&fx, true, said.say()));
    CHECK(fx.calls == Lines{"stop unit", "kill 100"});
    CHECK(said.lines == Lines{"error: disarm: the ruleset watcher (pid 100) does not end; nothing disarmed"});
    CHECK(fx.elapsed() == kUnitStopWait + kKilledWait);

    FakeWatcher gone;
    gone.unit = "inactive";
    Said said2;
    CHECK(StopWatcher(&gone, true, said2.say()));
    CHECK(gone.calls.empty());
    CHECK(said2.lines.empty());

    FakeWatcher no_bus;
    no_bus.unit_fails = "state";
    Said said3;
    CHECK(StopWatcher(&no_bus, true, said3.say()));
    CHECK(said3.lines ==
          Lines{"warning: could not ask systemd about the ruleset watcher (connect to systemd: refused)"});
}

TEST_CASE("halt: a halt that did not start stands the watcher down", "[watcher]") {
    FakeWatcher fx;
    fx.Runs(100, true, 1);
    Said said;
    StandDownWatcher(&fx, said.say());
    CHECK(fx.calls == Lines{"stop unit", "remove state"});
    CHECK(said.lines == Lines{"warning: the ruleset watcher is stopped; 'haltfw arm' starts it again on standby"});
}

TEST_CASE("status: the watch line", "[watcher]") {
    FakeWatcher fx;
    CHECK(WatcherStatusLine(&fx) == "watch: not running (arm starts it, and a halt if arm could not)");
    fx.Runs(100);
    CHECK(WatcherStatusLine(&fx) == "watch: haltfw-watch.service on standby (pid 100)");
    fx.Runs(100, true, 1);
    CHECK(WatcherStatusLine(&fx) == "watch: haltfw-watch.service watching, a halt under way (pid 100)");
    fx.running.clear();
    CHECK(WatcherStatusLine(&fx) == "watch: not running (arm starts it, and a halt if arm could not)");
}
