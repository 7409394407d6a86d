#include "halt/netconsole.h"

#include <catch2/catch.hpp>

#include <string>
#include <utility>
#include <vector>

#include "base/scratch_dir_test_support.h"
#include "halt/manifest.h"
#include "nft/sha256.h"

using namespace haltfw;

namespace {

const NetconsoleTarget kTarget{"eth1", "192.0.2.1", "192.0.2.10", "6666", "52:54:00:aa:bb:cc"};

Manifest WithNetconsole() {
    Manifest m;
    m.version = "0.1.0";
    m.digest = std::string(64, 'a');
    m.netconsole = kTarget;
    m.links = {{"lan", "eth1", {*ParsePrefix("192.0.2.1/24", true)}}};
    return m;
}

std::string Sealed(const std::string& body) {
    Sha256 h;
    h.Update(body);
    return body + "end " + h.HexFinal() + "\n";
}

}  // namespace

TEST_CASE("a netconsole target describes itself as the report says it") {
    CHECK(kTarget.Describe() == "192.0.2.10:6666 via eth1");
    NetconsoleTarget v6{"eth1", "2001:db8:1::1", "2001:db8:1::10", "514", "ff:ff:ff:ff:ff:ff"};
    CHECK(v6.Describe() == "[2001:db8:1::10]:514 via eth1");
}

TEST_CASE("the manifest carries the netconsole target, and refuses a bad record") {
    std::string text = SerializeManifest(WithNetconsole());
    CHECK(text.find("\nnetconsole eth1 192.0.2.1 192.0.2.10 6666 52:54:00:aa:bb:cc\n") != std::string::npos);
    Manifest out;
    std::string err;
    REQUIRE(ParseManifest(text, &out, &err));
    REQUIRE(out.netconsole);
    CHECK(*out.netconsole == kTarget);
    CHECK(SerializeManifest(out) == text);

    Manifest none = WithNetconsole();
    none.netconsole.reset();
    CHECK(SerializeManifest(none).find("netconsole") == std::string::npos);
    REQUIRE(ParseManifest(SerializeManifest(none), &out, &err));
    CHECK_FALSE(out.netconsole);

    const std::string bad_record = "manifest: line 4: bad netconsole record";
    for (auto [bad, want] : std::vector<std::pair<std::string, std::string>>{
             {"netconsole eth1 192.0.2.1 192.0.2.10 0 52:54:00:aa:bb:cc", bad_record},
             {"netconsole eth1 192.0.2.1 192.0.2.10 65536 52:54:00:aa:bb:cc", bad_record},
             {"netconsole eth1 host 192.0.2.10 6666 52:54:00:aa:bb:cc", bad_record},
             {"netconsole eth1 192.0.2.1 192.0.2.10 6666 52:54:00:aa:bb", bad_record},
             {"netconsole eth1 192.0.2.1 192.0.2.10 6666", "manifest: line 4: unknown record 'netconsole'"}}) {
        INFO(bad);
        std::string body = "haltfw-manifest 1\nversion 0.1.0\ndigest " + std::string(64, 'b') + "\n" + bad + "\n";
        CHECK_FALSE(ParseManifest(Sealed(body), &out, &err));
        CHECK(err == want);
    }
}

TEST_CASE("what the final stage says of the target it finds") {
    NetconsoleState st{true, true, kTarget};
    CHECK(NetconsoleDrift(kTarget, st) == "");
    st.enabled = false;
    CHECK(NetconsoleDrift(kTarget, st) == "disabled, as the kernel leaves it when its device goes away");
    st.target.remote_ip = "192.0.2.99";
    CHECK(NetconsoleDrift(kTarget, st) == "changed to 192.0.2.99:6666 via eth1 (mac 52:54:00:aa:bb:cc)");
    CHECK(NetconsoleDrift(kTarget, NetconsoleState{}) == "gone");
}

TEST_CASE("the console log level is kernel.printk's first field") {
    CHECK(ConsoleLogLevel("7\t4\t1\t7\n") == 7);
    CHECK(ConsoleLogLevel("4\t4\t1\t7\n") == 4);
    CHECK(ConsoleLogLevel("15") == 15);
    CHECK(ConsoleLogLevel("") == -1);
    CHECK(ConsoleLogLevel("x 4") == -1);
    CHECK(ConsoleLogLevel("4x\t4") == -1);
    CHECK(ConsoleLogLevel("99999999999999\t4") == -1);
}

TEST_CASE("a target is read from configfs's files, without their newlines") {
    ScratchDir root("netconsole");
    NetconsoleState st;
    std::string err;
    // No subsystem, or no target: none, and no error.
    REQUIRE(ReadNetconsole(root.path, &st, &err));
    CHECK_FALSE(st.present);
    root.Write("netconsole/other/enabled", "1\n");
    REQUIRE(ReadNetconsole(root.path, &st, &err));
    CHECK_FALSE(st.present);

    const std::string dir = std::string("netconsole/") + kNetconsoleTarget + "/";
    root.Write(dir + "enabled", "1\n");
    root.Write(dir + "dev_name", "eth1\n");
    root.Write(dir + "local_ip", "192.0.2.1\n");
    root.Write(dir + "remote_ip", "192.0.2.10\n");
    root.Write(dir + "remote_port", "6666\n");
    REQUIRE_FALSE(ReadNetconsole(root.path, &st, &err));  // no remote_mac
    CHECK(err == "open(" + root.path + "/" + dir + "remote_mac): No such file or directory");
    root.Write(dir + "remote_mac", "52:54:00:aa:bb:cc\n");
    REQUIRE(ReadNetconsole(root.path, &st, &err));
    CHECK(st.present);
    CHECK(st.enabled);
    CHECK(st.target == kTarget);
    root.Write(dir + "enabled", "0\n");
    REQUIRE(ReadNetconsole(root.path, &st, &err));
    CHECK_FALSE(st.enabled);
}
