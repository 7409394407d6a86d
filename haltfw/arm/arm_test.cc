#include "arm/arm.h"
#include "core/config_test_support.h"
#include "core/fake_calls_test_support.h"

#include <catch2/catch.hpp>
#include <linux/if.h>
#include <linux/netfilter.h>

#include <map>
#include <set>

#include "core/topology.h"
#include "nft/nft_digest.h"

using namespace haltfw;

namespace {

const char* kConf = R"([ruleset]
file = /r.nft
[interface.wan]
device = eth0
address = 198.51.100.1/24
address = 2001:db8:1::1/64
[interface.lan]
device = eth1
address = 192.0.2.1/24
[interface.dmz]
device = eth9
address = 203.0.113.1/24
[sysctl]
net.ipv4.ip_forward = 1
net.ipv6.conf.all.forwarding = 1
net.ipv4.tcp_rmem = 4096 131072 6291456
[halt]
ctrl-alt-del = poweroff
sysrq = 176
)";


NftRuleset SampleRuleset() {
    NftRuleset rs;
    rs.objects.push_back({NftKind::kTable, NFPROTO_INET, "", "filter", "\x01\x02", "table inet filter"});
    rs.objects.push_back({NftKind::kChain, NFPROTO_INET, "filter", "forward", "\x03", "chain forward"});
    return rs;
}

// Files and directories in memory; records each call; fails the first call
// that starts with `fail_on`, with "CALL: refused".
class FakeEffects : public ArmEffects, public FakeCalls {
public:
    std::map<std::string, std::string> files;
    std::map<std::string, unsigned> modes;
    std::set<std::string> dirs;
    bool mounted = false;
    std::vector<std::string> compared;  ///< Paths SameContent was asked about.
    std::string compare_fails;  ///< SameContent of a path ending so fails (a read error).

    bool Do(const std::string& call, std::string* err) { return FakeCalls::Do(call, err, call + ": refused"); }
    bool MountExitrd(const std::string& root, bool* m, bool* created, std::string* err) override {
        *m = !mounted, *created = false;
        if (mounted) return Do("reuse " + root, err);
        if (!Do("mount " + root, err)) return false;
        mounted = true;
        return true;
    }
    bool UnmountExitrd(const std::string& root, bool* lazy, std::string* err) override {
        *lazy = false;
        if (!Do("umount " + root, err)) return false;
        mounted = false;
        for (auto it = files.begin(); it != files.end();)
            it = it->first.rfind(root + "/", 0) == 0 ? files.erase(it) : std::next(it);
        return true;
    }
    bool ReadFile(const std::string& path, std::string* content, std::string* err) override {
        err->clear();
        auto it = files.find(path);
        if (it == files.end()) return false;
        *content = it->second;
        return true;
    }
    bool SameContent(const std::string& path, const std::string& content, bool* same, std::string* err) override {
        err->clear();
        compared.push_back(path);
        if (!compare_fails.empty() && path.ends_with(compare_fails)) {
            *err = "read " + path + ": Input/output error";
            return false;
        }
        auto it = files.find(path);
        *same = it != files.end() && it->second == content;
        return true;
    }
    bool WriteFile(const std::string& path, const std::string& content, unsigned mode, std::string* err) override {
        if (!Do("write " + path, err)) return false;
        files[path] = content;
        modes[path] = mode;
        return true;
    }
    bool WriteManifest(const std::string& path, const Manifest& m, std::string* err) override {
        if (!Do("manifest " + path, err)) return false;
        files[path] = SerializeManifest(m);
        modes[path] = 0600;
        return true;
    }
    bool RemoveFile(const std::string& path, bool* removed, std::string* err) override {
        *removed = files.erase(path) > 0;
        return Do("rm " + path, err);
    }
    bool MakeDir(const std::string& path, bool* created, std::string* err) override {
        *created = dirs.insert(path).second;
        return Do("mkdir " + path, err);
    }
    bool RemoveDir(const std::string& path, bool* removed, std::string* err) override {
        *removed = dirs.erase(path) > 0;
        return Do("rmdir " + path, err);
    }
    bool Reload(std::string* err) override { return Do("reload", err); }
};

ArmPlan SamplePlan() {
    Config cfg = ParseValid(kConf);
    ArmPlan p;
    p.exitrd = "/run/initramfs";
    p.files = {{"/shutdown", "\x7f" "ELF static", 0755}};
    p.inert = ExitrdFile{"/haltfw-inert", "\x7f" "ELF inert", 0755};
    p.manifest = BuildManifest(cfg, {}, SampleRuleset());
    GuardFacts f;
    f.present = {"nftables.service", "networking.service"};
    p.guards = GuardDropIns(f, "/run/systemd/system");
    p.reload = true;
    return p;
}

std::vector<std::string> Lines;
void Collect(const std::string& s) { Lines.push_back(s); }

}  // namespace

TEST_CASE("arm: the sysctls kept are the config's, defaults included") {
    Config cfg = ParseValid(kConf);
    auto s = HaltSysctls(cfg);
    std::vector<std::string> keys;
    for (auto& [k, v] : s) keys.push_back(k);
    CHECK(std::find(keys.begin(), keys.end(), "net.ipv4.ip_forward") != keys.end());
    CHECK(std::find(keys.begin(), keys.end(), "net.ipv6.conf.all.forwarding") != keys.end());
    CHECK(std::find(keys.begin(), keys.end(), "net.ipv4.conf.all.rp_filter") != keys.end());
    CHECK(s.size() == DefaultSysctls().size() + 3 + 6);  // + accept_ra, autoconf of eth0, eth1, eth9
}

TEST_CASE("arm: BuildManifest records the ruleset, links, sysctls and [halt]") {
    Config cfg = ParseValid(kConf);
    NetState st;
    st.links.push_back({2, "eth0", std::nullopt, 1500, IFF_UP, ""});
    st.links.push_back({3, "eth1", std::nullopt, 1500, IFF_UP, ""});
    std::vector<ResolvedInterface> ifs = ResolveInterfaces(cfg, st);
    NftRuleset rs = SampleRuleset();
    // The kernel prints tcp_rmem with tabs; forwarding reads back as set.
    SysctlReader live = [](const std::string& k, std::string* v) {
        if (k == "net.ipv4.tcp_rmem") *v = "4096\t131072\t6291456";
        else if (k == "net.ipv4.ip_forward" || k == "net.ipv6.conf.all.forwarding") *v = "1";
        else if (k == "net.ipv6.conf.all.accept_ra") return false;  // as with IPv6 disabled
        else *v = "0";
        return true;
    };
    Manifest m = BuildManifest(cfg, ifs, rs, live);

    CHECK(m.version == HALTFW_VERSION);
    CHECK(m.digest == RulesetDigest(rs));
    CHECK(m.ruleset.objects.size() == 2);
    CHECK(m.ctrl_alt_del == "poweroff");
    CHECK(m.sysrq == 176);
    REQUIRE(m.links.size() == 2);  // dmz's eth9 does not exist: left out
    CHECK(m.links[0].role == "wan");
    CHECK(m.links[0].name == "eth0");
    REQUIRE(m.links[0].addresses.size() == 2);
    CHECK(FormatPrefix(m.links[0].addresses[1]) == "2001:db8:1::1/64");
    CHECK(m.links[1].role == "lan");
    CHECK(FormatPrefix(m.links[1].addresses[0]) == "192.0.2.1/24");
    std::map<std::string, std::string> sysctls(m.sysctls.begin(), m.sysctls.end());
    CHECK(sysctls["net.ipv4.ip_forward"] == "1");
    CHECK(sysctls["net.ipv6.conf.all.forwarding"] == "1");
    CHECK(sysctls["net.ipv4.tcp_rmem"] == "4096\t131072\t6291456");
    CHECK(sysctls.count("net.ipv6.conf.all.accept_ra") == 0);  // the kernel lacks it: left out, as apply skips it
    CHECK(sysctls["net.ipv6.conf.eth0.accept_ra"] == "0");

    // And it survives the file format.
    Manifest back;
    std::string err;
    REQUIRE(ParseManifest(SerializeManifest(m), &back, &err));
    CHECK(back.digest == m.digest);
    CHECK(back.sysctls == m.sysctls);
}

TEST_CASE("arm: BuildManifest records the bridges and VLANs apply makes, for the final stage to make again") {
    Config cfg = ParseValid(R"([ruleset]
file = /r.nft
[interface.wan]
device = eth0
address = 198.51.100.1/24
[interface.lan]
device = br0
bridge = eth1 eth2
[interface.guest]
device = eth0.20
vlan = eth0 20
address = 192.0.2.1/24
)");
    NetState st;
    st.links.push_back({2, "eth0", std::nullopt, 1500, IFF_UP, ""});
    st.links.push_back({3, "eth1", std::nullopt, 1500, IFF_UP, "", 5});
    st.links.push_back({4, "eth2", std::nullopt, 1500, IFF_UP, "", 5});
    st.links.push_back({5, "br0", std::nullopt, 1500, IFF_UP, "bridge"});
    st.links.push_back({6, "eth0.20", std::nullopt, 1500, IFF_UP, "vlan", 0, 2, 20});
    Manifest m = BuildManifest(cfg, ResolveInterfaces(cfg, st), SampleRuleset());
    REQUIRE(m.links.size() == 3);
    CHECK_FALSE(m.links[0].bridge);  // a NIC: nothing to make
    CHECK(m.links[0].vlan_parent.empty());
    CHECK(m.links[1].bridge == Link::BridgeOptions{kBridgeStpState, kBridgeAgeingCentis, kBridgeMcastSnooping});
    CHECK(m.links[1].ports == std::vector<std::string>{"eth1", "eth2"});
    CHECK(m.links[1].silent);
    CHECK(m.links[1].vlan_parent.empty());
    CHECK_FALSE(m.links[2].bridge);
    CHECK(m.links[2].vlan_parent == "eth0");
    CHECK(m.links[2].vlan_id == 20);
}

TEST_CASE("arm: a live sysctl that differs from the config keeps the config's value") {
    Config cfg = ParseValid(kConf);
    Manifest m = BuildManifest(cfg, {}, SampleRuleset(), [](const std::string&, std::string* v) {
        *v = "0";
        return true;
    });
    std::map<std::string, std::string> sysctls(m.sysctls.begin(), m.sysctls.end());
    CHECK(sysctls["net.ipv4.ip_forward"] == "1");
}

TEST_CASE("arm: a first arm mounts, installs, guards, reloads, and writes the manifest last") {
    FakeEffects fx;
    Lines.clear();
    ArmResult r = ArmHalt(SamplePlan(), &fx, Collect);
    REQUIRE(r.ok);
    CHECK(fx.calls == std::vector<std::string>{
                          "mount /run/initramfs",
                          "write /run/initramfs/shutdown",
                          "write /run/initramfs/haltfw-inert",
                          "mkdir /run/systemd/system/nftables.service.d",
                          "write /run/systemd/system/nftables.service.d/50-haltfw.conf",
                          "mkdir /run/systemd/system/networking.service.d",
                          "write /run/systemd/system/networking.service.d/50-haltfw.conf",
                          "reload",
                          "manifest /run/initramfs/haltfw.manifest",
                      });
    CHECK(fx.modes["/run/initramfs/shutdown"] == 0755);
    CHECK(fx.modes["/run/systemd/system/nftables.service.d/50-haltfw.conf"] == 0644);
    CHECK(Lines.front() == "exitrd: mounted a tmpfs on /run/initramfs (mode 0700, exec allowed)");
    CHECK(fx.modes["/run/initramfs/haltfw-inert"] == 0755);
    CHECK(Lines[1] == "exitrd: installed the final stage as /run/initramfs/shutdown (11 bytes, static)");
    CHECK(Lines[2] == "exitrd: installed the inert program as /run/initramfs/haltfw-inert (10 bytes, static)");
    CHECK(Lines.back().rfind("manifest: wrote /run/initramfs/haltfw.manifest (digest ", 0) == 0);
}

TEST_CASE("arm: arming again changes nothing and does not reload") {
    FakeEffects fx;
    REQUIRE(ArmHalt(SamplePlan(), &fx, Collect).ok);
    auto files = fx.files;
    fx.calls.clear();
    Lines.clear();
    REQUIRE(ArmHalt(SamplePlan(), &fx, Collect).ok);
    CHECK(fx.files == files);
    CHECK(fx.calls == std::vector<std::string>{
                          "reuse /run/initramfs",
                          "mkdir /run/systemd/system/nftables.service.d",
                          "mkdir /run/systemd/system/networking.service.d",
                      });
    CHECK(Lines == std::vector<std::string>{
                       "exitrd: /run/initramfs is already haltfw's tmpfs; updating it in place",
                       "exitrd: final stage /run/initramfs/shutdown unchanged",
                       "exitrd: inert program /run/initramfs/haltfw-inert unchanged",
                       "guard: /run/systemd/system/nftables.service.d/50-haltfw.conf unchanged",
                       "guard: /run/systemd/system/networking.service.d/50-haltfw.conf unchanged",
                       "manifest: /run/initramfs/haltfw.manifest unchanged (digest " + SamplePlan().manifest.digest +
                           ", 0 links, 2 ruleset objects)",
                   });
}

TEST_CASE("arm: with the exitrd's files current by the record, none of them is compared, written or removed") {
    FakeEffects fx;
    REQUIRE(ArmHalt(SamplePlan(), &fx, Collect).ok);
    auto files = fx.files;
    fx.calls.clear();
    fx.compared.clear();
    Lines.clear();
    ArmPlan p = SamplePlan();
    p.files.clear();
    p.inert.reset();  // without files_current: "remove haltfw-inert"
    p.files_current = true;
    p.recorded_files = 2;
    p.recorded_inert = true;
    REQUIRE(ArmHalt(p, &fx, Collect).ok);
    CHECK(fx.files == files);
    CHECK(fx.compared == std::vector<std::string>{
                             "/run/systemd/system/nftables.service.d/50-haltfw.conf",
                             "/run/systemd/system/networking.service.d/50-haltfw.conf",
                             "/run/initramfs/haltfw.manifest",
                         });
    CHECK(fx.calls == std::vector<std::string>{
                          "reuse /run/initramfs",
                          "mkdir /run/systemd/system/nftables.service.d",
                          "mkdir /run/systemd/system/networking.service.d",
                      });
    REQUIRE(Lines.size() == 6);
    CHECK(Lines[1] ==
          "exitrd: final stage /run/initramfs/shutdown unchanged (2 files, as the last arm recorded them in "
          "/run/initramfs/haltfw.files)");
    CHECK(Lines[2] == "exitrd: inert program /run/initramfs/haltfw-inert unchanged (as the last arm recorded it)");

    // Recorded without haltfw-inert (armed with a final stage of its own):
    // said as a full arm says it.
    Lines.clear();
    p.recorded_inert = false;
    REQUIRE(ArmHalt(p, &fx, Collect).ok);
    CHECK(Lines[2] == "exitrd: no inert program: once halted the final stage stays PID 1, its files in memory");
}

TEST_CASE(
    "arm: files judged current on an exitrd that is gone by the time arm gets to it fail the arm, which leaves "
    "nothing") {
    FakeEffects fx;  // not mounted: the tmpfs the record was about was taken off
    ArmPlan p = SamplePlan();
    p.files.clear();
    p.inert.reset();
    p.files_current = true;
    p.recorded_files = 2;
    Lines.clear();
    ArmResult r = ArmHalt(p, &fx, Collect);
    CHECK_FALSE(r.ok);
    CHECK(r.error == "exitrd /run/initramfs: it was not mounted any more when arm came to it; arm again");
    CHECK(r.undo_failures.empty());
    CHECK_FALSE(fx.mounted);
    CHECK(fx.files.empty());
    CHECK(fx.calls == std::vector<std::string>{"mount /run/initramfs", "umount /run/initramfs"});
}

TEST_CASE("arm: a failure at the last step undoes everything, reloading after the guards are gone") {
    FakeEffects fx;
    fx.fail_on = "manifest";
    Lines.clear();
    ArmResult r = ArmHalt(SamplePlan(), &fx, Collect);
    CHECK_FALSE(r.ok);
    CHECK(r.error == "manifest /run/initramfs/haltfw.manifest: refused");
    CHECK(r.undo_failures.empty());
    CHECK(fx.files.empty());
    CHECK(fx.dirs.empty());
    CHECK_FALSE(fx.mounted);
    std::vector<std::string> tail(fx.calls.end() - 8, fx.calls.end());
    CHECK(tail == std::vector<std::string>{
                      "rm /run/systemd/system/networking.service.d/50-haltfw.conf",
                      "rmdir /run/systemd/system/networking.service.d",
                      "rm /run/systemd/system/nftables.service.d/50-haltfw.conf",
                      "rmdir /run/systemd/system/nftables.service.d",
                      "rm /run/initramfs/haltfw-inert",
                      "rm /run/initramfs/shutdown",
                      "umount /run/initramfs",
                      "reload",
                  });
}

TEST_CASE("arm: a file that cannot be compared fails the arm, and a re-arm leaves the previous arm as it was") {
    FakeEffects fx;
    fx.compare_fails = "/haltfw.manifest";
    ArmResult r = ArmHalt(SamplePlan(), &fx, Collect);
    CHECK_FALSE(r.ok);
    CHECK(r.error == "read /run/initramfs/haltfw.manifest: Input/output error");
    CHECK(r.undo_failures.empty());
    CHECK(fx.files.empty());
    CHECK_FALSE(fx.mounted);

    fx.compare_fails.clear();
    REQUIRE(ArmHalt(SamplePlan(), &fx, Collect).ok);
    auto before = fx.files;
    ArmPlan p = SamplePlan();
    p.manifest.sysrq = 1;
    fx.compare_fails = "/shutdown";
    r = ArmHalt(p, &fx, Collect);
    CHECK_FALSE(r.ok);
    CHECK(r.error == "read /run/initramfs/shutdown: Input/output error");
    CHECK(fx.files == before);
    CHECK(fx.mounted);
}

TEST_CASE("arm: a failed re-arm puts the previous arm back") {
    FakeEffects fx;
    REQUIRE(ArmHalt(SamplePlan(), &fx, Collect).ok);
    auto before = fx.files;
    ArmPlan p = SamplePlan();
    p.files = {{"/shutdown", "\x7f" "ELF newer", 0755}};
    p.guards[0].content += "# changed\n";
    p.manifest.sysrq = 1;
    fx.fail_on = "manifest";
    ArmResult r = ArmHalt(p, &fx, Collect);
    CHECK_FALSE(r.ok);
    CHECK(fx.files == before);
    CHECK(fx.mounted);
    CHECK(fx.calls.back() == "reload");
}

TEST_CASE("arm: without an inert program one of an earlier arm goes, and comes back if the arm fails") {
    FakeEffects fx;
    REQUIRE(ArmHalt(SamplePlan(), &fx, Collect).ok);
    auto before = fx.files;
    ArmPlan p = SamplePlan();
    p.inert.reset();  // arm --final PATH with no haltfw-inert beside PATH
    p.manifest.sysrq = 1;
    fx.fail_on = "manifest";
    Lines.clear();
    CHECK_FALSE(ArmHalt(p, &fx, Collect).ok);
    CHECK(std::find(Lines.begin(), Lines.end(),
                    "exitrd: no inert program (removed /run/initramfs/haltfw-inert of an earlier arm): once halted the "
                    "final stage "
                    "stays PID 1, its files in memory") != Lines.end());
    CHECK(fx.files == before);  // put back by the undo

    fx.fail_on.clear();
    REQUIRE(ArmHalt(p, &fx, Collect).ok);
    CHECK(fx.files.count("/run/initramfs/haltfw-inert") == 0);
    Lines.clear();
    REQUIRE(ArmHalt(p, &fx, Collect).ok);
    CHECK(std::find(Lines.begin(), Lines.end(),
                    "exitrd: no inert program: once halted the final stage stays PID 1, its files in memory") !=
          Lines.end());
}

TEST_CASE("arm: without systemd the guards are written and the reload is skipped, with the reason") {
    FakeEffects fx;
    ArmPlan p = SamplePlan();
    p.reload = false;
    p.no_reload_why = "systemd is not running (no /run/systemd/system)";
    Lines.clear();
    REQUIRE(ArmHalt(p, &fx, Collect).ok);
    CHECK(std::find(fx.calls.begin(), fx.calls.end(), "reload") == fx.calls.end());
    CHECK(std::find(Lines.begin(), Lines.end(),
                    "systemd: systemd is not running (no /run/systemd/system); daemon-reload skipped") != Lines.end());
}

TEST_CASE("disarm: removes the manifest, the exitrd and every guard, then reloads; again, nothing") {
    FakeEffects fx;
    REQUIRE(ArmHalt(SamplePlan(), &fx, Collect).ok);
    DisarmPlan d{"/run/initramfs", true, "/run/systemd/system", true, ""};
    Lines.clear();
    DisarmResult r = DisarmHalt(d, &fx, Collect);
    CHECK(r.ok);
    CHECK(r.removed == 4);
    CHECK(fx.files.empty());
    CHECK(fx.dirs.empty());
    CHECK_FALSE(fx.mounted);
    CHECK(Lines == std::vector<std::string>{
                       "removed the manifest /run/initramfs/haltfw.manifest",
                       "unmounted the exitrd /run/initramfs with the final stage",
                       "removed the guard /run/systemd/system/nftables.service.d/50-haltfw.conf",
                       "removed the guard /run/systemd/system/networking.service.d/50-haltfw.conf",
                       "systemd: daemon-reload done: the units stop as before",
                   });
    fx.calls.clear();
    d.exitrd_mounted = false;
    r = DisarmHalt(d, &fx, Collect);
    CHECK(r.ok);
    CHECK(r.removed == 0);
    CHECK(std::find(fx.calls.begin(), fx.calls.end(), "reload") == fx.calls.end());
}

TEST_CASE("disarm: a failed step is reported and the others still run") {
    FakeEffects fx;
    REQUIRE(ArmHalt(SamplePlan(), &fx, Collect).ok);
    fx.fail_on = "umount";
    DisarmResult r = DisarmHalt({"/run/initramfs", true, "/run/systemd/system", true, ""}, &fx, Collect);
    CHECK_FALSE(r.ok);
    CHECK(r.errors == std::vector<std::string>{"umount /run/initramfs: refused"});
    CHECK(fx.files.count("/run/systemd/system/nftables.service.d/50-haltfw.conf") == 0);
}

TEST_CASE("status: armed, and each reason it is not") {
    ArmFacts f;
    f.exitrd = "/run/initramfs";
    bool armed = true;
    CHECK(ArmedVerdict(f, &armed) == "armed: no (not armed)");
    CHECK_FALSE(armed);

    f.mounted = f.usable = f.final_ok = f.manifest_present = true;
    f.armed_digest = f.live_digest = "ab12";
    CHECK(ArmedVerdict(f, &armed) == "armed: yes (digest ab12, manifest /run/initramfs/haltfw.manifest)");
    CHECK(armed);

    f.live_digest = "cd34";
    f.guards_missing = {"/run/systemd/system/nftables.service.d/50-haltfw.conf"};
    CHECK(ArmedVerdict(f, &armed) ==
          "armed: no (guard /run/systemd/system/nftables.service.d/50-haltfw.conf missing; "
          "the live ruleset digest now differs from the armed one (ab12))");
    CHECK_FALSE(armed);

    ArmFacts g;
    g.exitrd = "/run/initramfs";
    g.mounted = g.usable = g.final_ok = true;
    CHECK(ArmedVerdict(g, &armed) == "armed: no (manifest /run/initramfs/haltfw.manifest missing)");
    g.mounted = g.usable = false;
    g.manifest_present = true;
    g.armed_digest = "ab12";
    CHECK(ArmedVerdict(g, &armed) == "armed: no (exitrd /run/initramfs is not mounted)");
    g.mounted = true;
    g.mount_desc = "type 'tmpfs' (rw,nosuid,noexec)";
    CHECK(ArmedVerdict(g, &armed) ==
          "armed: no (exitrd /run/initramfs is a mount of type 'tmpfs' (rw,nosuid,noexec), not haltfw's tmpfs)");
    g.usable = true;
    g.final_ok = false;
    g.manifest_error = "manifest: checksum mismatch (corrupted or truncated)";
    CHECK(ArmedVerdict(g, &armed) ==
          "armed: no (final stage /run/initramfs/shutdown missing or not executable; "
          "manifest unusable: manifest: checksum mismatch (corrupted or truncated))");
}

namespace {

// FakeEffects with a netconsole target in memory.
class NetconsoleFake : public FakeEffects {
public:
    NetconsoleState target;
    bool ReadNetconsole(NetconsoleState* st, std::string* err) override {
        *st = target;
        return Do("netconsole read", err);
    }
    bool WriteNetconsole(const NetconsoleTarget& t, std::string* err) override {
        target = NetconsoleState{};  // the old one goes first, as in configfs
        if (!Do("netconsole write " + t.Describe(), err)) return false;
        target = {true, true, t};
        return true;
    }
    bool RestoreNetconsole(const NetconsoleState& st, std::string* err) override {
        if (!Do(std::string("netconsole restore ") + (st.present ? st.target.Describe() : "none"), err)) return false;
        target = st;
        return true;
    }
};

const NetconsoleTarget kNc{"eth1", "192.0.2.1", "192.0.2.10", "6666", "ff:ff:ff:ff:ff:ff"};

}  // namespace

TEST_CASE("arm: NetconsoleFor takes the role's device, and the MAC from the config, the neighbours or broadcast") {
    Config cfg = ParseValid(std::string(kConf) + "netconsole = 192.0.2.10:6666\n");
    NetState st;
    st.links.push_back({2, "eth0", std::nullopt, 1500, IFF_UP, ""});
    st.links.push_back({3, "eth1", std::nullopt, 1500, IFF_UP, ""});
    std::vector<ResolvedInterface> ifs = ResolveInterfaces(cfg, st);
    std::string from;
    std::vector<std::string> asked;
    auto none = [&](const std::string& dev, const IpAddr& ip) -> std::optional<MacAddr> {
        asked.push_back(dev + " " + FormatIp(ip));
        return std::nullopt;
    };
    std::optional<NetconsoleTarget> t = NetconsoleFor(cfg, ifs, none, &from);
    REQUIRE(t);
    CHECK(*t == kNc);
    CHECK(from == "broadcast: no neighbour entry for 192.0.2.10 on eth1");
    CHECK(asked == std::vector<std::string>{"eth1 192.0.2.10"});

    auto known = [](const std::string&, const IpAddr&) { return ParseMac("52:54:00:48:46:10"); };
    t = NetconsoleFor(cfg, ifs, known, &from);
    REQUIRE(t);
    CHECK(t->remote_mac == "52:54:00:48:46:10");
    CHECK(from == "the neighbour table");

    Config given = ParseValid(std::string(kConf) + "netconsole = 192.0.2.10:6666\nnetconsole-mac = 52:54:00:00:00:fe\n");
    t = NetconsoleFor(given, ResolveInterfaces(given, st), known, &from);
    REQUIRE(t);
    CHECK(t->remote_mac == "52:54:00:00:00:fe");
    CHECK(from == "netconsole-mac");

    // On the dmz, whose device is missing: none (readiness refuses to arm).
    Config dmz = ParseValid(std::string(kConf) + "netconsole = 203.0.113.9:6666\n");
    CHECK_FALSE(NetconsoleFor(dmz, ResolveInterfaces(dmz, st), known, &from));
    CHECK_FALSE(NetconsoleFor(ParseValid(kConf), ifs, known, &from));
}

TEST_CASE("arm: the netconsole target is made before the manifest, left alone when the same, undone on failure") {
    ArmPlan p = SamplePlan();
    p.manifest.netconsole = kNc;
    p.netconsole_mac_from = "broadcast: no neighbour entry for 192.0.2.10 on eth1";
    NetconsoleFake fx;
    Lines.clear();
    REQUIRE(ArmHalt(p, &fx, Collect).ok);
    CHECK(fx.target.present);
    CHECK(fx.target.enabled);
    CHECK(fx.target.target == kNc);
    CHECK(std::find(Lines.begin(), Lines.end(),
                    "netconsole: target 192.0.2.10:6666 via eth1 enabled (mac ff:ff:ff:ff:ff:ff, from broadcast: no "
                    "neighbour entry for 192.0.2.10 on eth1)") != Lines.end());
    auto write = std::find(fx.calls.begin(), fx.calls.end(), "netconsole write 192.0.2.10:6666 via eth1");
    auto manifest = std::find(fx.calls.begin(), fx.calls.end(), "manifest /run/initramfs/haltfw.manifest");
    CHECK(write < manifest);
    CHECK(manifest != fx.calls.end());

    // Again: nothing written.
    fx.calls.clear();
    Lines.clear();
    REQUIRE(ArmHalt(p, &fx, Collect).ok);
    CHECK(std::count_if(fx.calls.begin(), fx.calls.end(),
                        [](const std::string& c) { return c.starts_with("netconsole write"); }) == 0);
    CHECK(std::find(Lines.begin(), Lines.end(),
                    "netconsole: target 192.0.2.10:6666 via eth1 unchanged (mac ff:ff:ff:ff:ff:ff)") != Lines.end());

    // Disabled by the kernel: made again.
    fx.target.enabled = false;
    fx.calls.clear();
    REQUIRE(ArmHalt(p, &fx, Collect).ok);
    CHECK(fx.target.enabled);

    // A new arm whose manifest cannot be written: the old target comes back.
    NetconsoleTarget old = kNc;
    old.remote_port = "514";
    fx.target = {true, true, old};
    p.manifest.digest = std::string(64, 'c');
    fx.fail_on = "manifest";
    ArmResult r = ArmHalt(p, &fx, Collect);
    CHECK_FALSE(r.ok);
    CHECK(r.undo_failures.empty());
    CHECK(fx.target.present);
    CHECK(fx.target.enabled);
    CHECK(fx.target.target == old);

    // A target the kernel refuses: none is left where there was none.
    NetconsoleFake fresh;
    fresh.fail_on = "netconsole write";
    r = ArmHalt(p, &fresh, Collect);
    CHECK_FALSE(r.ok);
    CHECK(r.error == "netconsole target 192.0.2.10:6666 via eth1: netconsole write 192.0.2.10:6666 via eth1: refused");
    CHECK_FALSE(fresh.target.present);
    CHECK(fresh.files.empty());

    // Without [halt] netconsole an earlier arm's target goes; disarm takes it too.
    ArmPlan plain = SamplePlan();
    fx.fail_on.clear();
    fx.target = {true, true, kNc};
    REQUIRE(ArmHalt(plain, &fx, Collect).ok);
    CHECK_FALSE(fx.target.present);
    fx.target = {true, true, kNc};
    DisarmPlan dp;
    dp.exitrd = "/run/initramfs";
    Lines.clear();
    DisarmResult d = DisarmHalt(dp, &fx, Collect);
    CHECK(d.ok);
    CHECK_FALSE(fx.target.present);
    CHECK(std::find(Lines.begin(), Lines.end(), "removed the netconsole target 192.0.2.10:6666 via eth1") !=
          Lines.end());
}
