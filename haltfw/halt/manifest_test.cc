#include "halt/manifest.h"

#include <catch2/catch.hpp>
#include <linux/netfilter.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <functional>
#include <utility>
#include <vector>

#include "net/wg_test_support.h"
#include "nft/sha256.h"

using namespace haltfw;

namespace {

Manifest Sample() {
    Manifest m;
    m.version = "0.1.0";
    m.digest = std::string(64, 'a');
    m.ctrl_alt_del = "reboot";
    m.sysrq = 16;
    m.links = {{"wan", "eth0", {*ParsePrefix("198.51.100.1/24", true), *ParsePrefix("2001:db8:1::1/64", true)}},
               {"lan", "eth1", {*ParsePrefix("192.0.2.1/24", true)}}};
    m.sysctls = {{"net.ipv4.ip_forward", "1"}, {"net.ipv4.tcp_rmem", "4096 131072 6291456"}};
    NftObject t;
    t.kind = NftKind::kTable;
    t.family = NFPROTO_INET;
    t.name = "filter";
    t.payload = std::string("\x0b\x00\x01\x00" "filter\x00\x00", 12);
    NftObject e;
    e.kind = NftKind::kSetElem;
    e.family = NFPROTO_INET;
    e.table = "filter";
    e.name = "with space";
    e.payload = std::string("\x00\xff\n ", 4);
    m.ruleset.Add(t);
    m.ruleset.Add(e);
    return m;
}

}  // namespace

TEST_CASE("a manifest survives a write/read round trip") {
    Manifest in = Sample();
    std::string text = SerializeManifest(in);
    Manifest out;
    std::string err;
    REQUIRE(ParseManifest(text, &out, &err));
    CHECK(out.version == "0.1.0");
    CHECK(out.digest == in.digest);
    CHECK(out.ctrl_alt_del == "reboot");
    CHECK(out.sysrq == 16);
    REQUIRE(out.links.size() == 2);
    CHECK(out.links[0].name == "eth0");
    CHECK(out.links[0].addresses == in.links[0].addresses);
    CHECK(out.sysctls == in.sysctls);
    REQUIRE(out.ruleset.size() == 2);
    REQUIRE(out.ruleset.objects.size() == 1);
    REQUIRE(out.ruleset.elements.size() == 1);
    CHECK(out.ruleset.objects[0].table.empty());
    CHECK(out.ruleset.objects[0].payload == in.ruleset.objects[0].payload);
    CHECK(out.ruleset.elements[0].set == "with space");
    CHECK(out.ruleset.elements[0][0] == in.ruleset.elements[0][0]);
    CHECK(SerializeManifest(out) == text);
}

TEST_CASE("a manifest records where and when arm read its ruleset; a bad stamp is refused, sealed or not") {
    Manifest in = Sample();
    in.armed_at = {"0f8fad5b-d9cb-469f-a165-70867728950e", 4097, 41};
    std::string text = SerializeManifest(in);
    CHECK(text.find("\ngeneration 0f8fad5b-d9cb-469f-a165-70867728950e 4097 41\n") != std::string::npos);
    Manifest out;
    std::string err;
    REQUIRE(ParseManifest(text, &out, &err));
    CHECK(out.armed_at == in.armed_at);
    CHECK(SerializeManifest(out) == text);
    // None recorded: none read back, and no line written.
    REQUIRE(ParseManifest(SerializeManifest(Sample()), &out, &err));
    CHECK(out.armed_at.generation == 0);
    CHECK(SerializeManifest(Sample()).find("generation") == std::string::npos);

    for (const char* bad : {"generation x 4097 41", "generation 0f8f 0 41", "generation 0f8f 4097 0",
                            "generation 0f8f 4097 4294967296", "generation 0f8f 4097", "generation 0f8f -1 41",
                            "generation 0f8f 4097 41 9", "generation 0f8f\t 4097 41"}) {
        INFO(bad);
        std::string body = "haltfw-manifest 1\nversion 0.1.0\ndigest " + std::string(64, 'b') + "\n" + bad + "\n";
        Sha256 h;
        h.Update(body);
        CHECK_FALSE(ParseManifest(body + "end " + h.HexFinal() + "\n", &out, &err));
        CHECK(err == "manifest: line 4: " +
                         std::string(std::string_view(bad).starts_with("generation 0f8f 4097 41 9") ||
                                             std::string_view(bad) == "generation 0f8f 4097"
                                         ? "unknown record 'generation'"
                                         : "bad generation record"));
    }
}

TEST_CASE("a manifest carries [halt] heartbeat when set, and the panic settings among its sysctls") {
    Manifest in = Sample();
    in.heartbeat_s = 300;
    in.sysctls.push_back({"kernel.panic", "10"});
    in.sysctls.push_back({"kernel.panic_on_oops", "1"});
    std::string text = SerializeManifest(in);
    CHECK(text.find("\nsysrq 16\nheartbeat 300\nlink ") != std::string::npos);
    Manifest out;
    std::string err;
    REQUIRE(ParseManifest(text, &out, &err));
    CHECK(out.heartbeat_s == 300);
    CHECK(out.sysctls == in.sysctls);
    CHECK(SerializeManifest(out) == text);
    // Off: no line, and none read back.
    REQUIRE(ParseManifest(SerializeManifest(Sample()), &out, &err));
    CHECK(out.heartbeat_s == 0);
    CHECK(SerializeManifest(Sample()).find("heartbeat") == std::string::npos);
    for (const char* bad : {"heartbeat 0", "heartbeat -5", "heartbeat 5s", "heartbeat x"}) {
        INFO(bad);
        std::string body = "haltfw-manifest 1\nversion 0.1.0\ndigest " + std::string(64, 'b') + "\n" + bad + "\n";
        Sha256 h;
        h.Update(body);
        CHECK_FALSE(ParseManifest(body + "end " + h.HexFinal() + "\n", &out, &err));
        CHECK(err == "manifest: line 4: bad heartbeat");
    }
}

TEST_CASE("a corrupted, truncated or foreign manifest is refused") {
    std::string text = SerializeManifest(Sample());
    Manifest m;
    std::string err;

    std::string flipped = text;
    flipped[text.find("eth1")] = 'x';
    CHECK_FALSE(ParseManifest(flipped, &m, &err));
    CHECK(err == "manifest: checksum mismatch (corrupted or truncated)");

    CHECK_FALSE(ParseManifest(text.substr(0, text.size() / 2), &m, &err));
    CHECK(err == "manifest: no 'end' line (truncated?)");

    CHECK_FALSE(ParseManifest(text.substr(0, text.size() - 10), &m, &err));
    CHECK(err == "manifest: checksum mismatch (corrupted or truncated)");

    // A file from another format version, sealed with a valid checksum.
    std::string body = text.substr(0, text.rfind("end "));
    body.replace(0, std::string("haltfw-manifest 1").size(), "haltfw-manifest 2");
    Sha256 h;
    h.Update(body);
    CHECK_FALSE(ParseManifest(body + "end " + h.HexFinal() + "\n", &m, &err));
    CHECK(err == "manifest: unsupported format 'haltfw-manifest 2' (this haltfw reads 'haltfw-manifest 1')");

    // A malformed record, sealed.
    std::string bad = "haltfw-manifest 1\nversion 0.1.0\ndigest " + std::string(64, 'b') + "\nsysrq lots\n";
    Sha256 h2;
    h2.Update(bad);
    CHECK_FALSE(ParseManifest(bad + "end " + h2.HexFinal() + "\n", &m, &err));
    CHECK(err == "manifest: line 4: bad sysrq");
}

TEST_CASE("a sealed manifest with a sysctl outside net.*, or one that is a path, is refused whole") {
    const std::vector<std::pair<std::string, std::string>> bad = {
        {"net.//.kernel.hostname",
         "manifest: line 11: sysctl key 'net.//.kernel.hostname': component '//' would be '..' (a '/' stands for a "
         "'.' in an interface name)"},
        {"kernel.modprobe",
         "manifest: line 11: sysctl key 'kernel.modprobe': under kernel.* only the panic settings can be set "
         "(kernel.panic, kernel.panic_on_oops, kernel.panic_on_warn, kernel.unknown_nmi_panic, "
         "kernel.panic_on_unrecovered_nmi, kernel.panic_on_io_nmi, kernel.softlockup_panic, kernel.hung_task_panic)"},
        {"net..ipv4", "manifest: line 11: sysctl key 'net..ipv4': empty component"},
    };
    for (const auto& [key, want] : bad) {
        INFO(key);
        Manifest in = Sample();
        in.sysctls = {{key, "x"}, {"net.ipv4.ip_forward", "1"}};
        Manifest m;
        std::string err;
        CHECK_FALSE(ParseManifest(SerializeManifest(in), &m, &err));
        CHECK(err == want);
    }
}

TEST_CASE("manifest files are written atomically and read back") {
    char dir[] = "/tmp/haltfw-manifest-test-XXXXXX";
    REQUIRE(mkdtemp(dir));
    std::string path = std::string(dir) + "/haltfw.manifest";
    std::string err;
    REQUIRE(WriteManifestFile(path, Sample(), &err));
    Manifest m;
    REQUIRE(ReadManifestFile(path, &m, &err));
    CHECK(m.links.size() == 2);
    CHECK_FALSE(ReadManifestFile(std::string(dir) + "/nope", &m, &err));
    CHECK(err == std::string("read ") + dir + "/nope: No such file or directory");
    std::remove(path.c_str());
    rmdir(dir);
}

namespace {

// `body` sealed with its checksum, as arm would.
std::string Sealed(const std::string& body) {
    Sha256 h;
    h.Update(body);
    return body + "end " + h.HexFinal() + "\n";
}

std::string Head() { return "haltfw-manifest 1\nversion 0.1.0\ndigest " + std::string(64, 'b') + "\n"; }

}  // namespace

TEST_CASE("the end line is the last line, whatever comes around it") {
    Manifest m;
    std::string err;
    std::string text = Sealed(Head());
    CHECK(ParseManifest(text, &m, &err));
    CHECK(ParseManifest(text.substr(0, text.size() - 1), &m, &err));  // no '\n' after it
    CHECK_FALSE(ParseManifest(text + "\n", &m, &err));
    CHECK(err == "manifest: checksum mismatch (corrupted or truncated)");
    CHECK_FALSE(ParseManifest(text + "sysrq 1\n", &m, &err));
    CHECK(err == "manifest: checksum mismatch (corrupted or truncated)");
    // An 'end' line on the first line is no end line (it follows no '\n').
    CHECK_FALSE(ParseManifest("end " + std::string(64, '0') + "\n", &m, &err));
    CHECK(err == "manifest: no 'end' line (truncated?)");
    // One in the middle of a sealed body is a record like any other.
    CHECK_FALSE(ParseManifest(Sealed(Head() + "end " + std::string(64, '0') + "\nsysrq 1\n"), &m, &err));
    CHECK(err == "manifest: line 4: unknown record 'end'");
}

TEST_CASE("a line longer than 1 MiB is refused, and hashed all the same") {
    Manifest m;
    std::string err;
    std::string long_line = "version " + std::string(2 << 20, 'v') + "\n";
    CHECK_FALSE(ParseManifest(Sealed(Head() + long_line), &m, &err));
    CHECK(err == "manifest: line 4: longer than 1048576 bytes");
    std::string text = Sealed(Head() + long_line);
    text[text.size() / 2] = 'w';  // inside the long line: the checksum still sees it
    CHECK_FALSE(ParseManifest(text, &m, &err));
    CHECK(err == "manifest: checksum mismatch (corrupted or truncated)");
}

TEST_CASE("a large manifest is read in pieces; its ruleset can be left in the file and read later") {
    char dir[] = "/tmp/haltfw-manifest-test-XXXXXX";
    REQUIRE(mkdtemp(dir));
    std::string path = std::string(dir) + "/haltfw.manifest";
    Manifest in = Sample();
    NftObject e;
    e.kind = NftKind::kSetElem;
    e.family = NFPROTO_INET;
    e.table = "filter";
    e.name = "big";
    for (uint32_t i = 0; i < 20000; ++i) {  // about 1 MB of text: pieces of 64 KiB
        e.payload = std::string(reinterpret_cast<const char*>(&i), sizeof i) + "pad!";
        in.ruleset.Add(e);
    }
    SortCanonical(&in.ruleset);
    std::string err;
    REQUIRE(WriteManifestFile(path, in, &err));

    Manifest whole;
    REQUIRE(ReadManifestFile(path, &whole, &err));
    CHECK(SerializeManifest(whole) == SerializeManifest(in));
    CHECK(whole.ruleset_file.empty());

    Manifest m;
    REQUIRE(ReadManifestFile(path, &m, &err, ManifestRuleset::kLeaveInFile));
    CHECK(m.ruleset.size() == 0);
    CHECK(m.ruleset_file == path);
    CHECK(m.links.size() == 2);
    CHECK(m.digest == in.digest);
    NftRuleset rs;
    REQUIRE(ReadManifestRuleset(m, &rs, &err));
    CHECK(rs.size() == in.ruleset.size());
    Manifest back = m;
    back.ruleset = rs;
    back.ruleset_file.clear();
    CHECK(SerializeManifest(back) == SerializeManifest(in));

    // Armed again meanwhile: the ruleset read later must be the one checked.
    Manifest other = Sample();
    REQUIRE(WriteManifestFile(path, other, &err));
    CHECK_FALSE(ReadManifestRuleset(m, &rs, &err));
    CHECK(err == path + ": manifest: changed since it was read");
    // Damaged meanwhile.
    {
        std::FILE* f = std::fopen(path.c_str(), "w");
        REQUIRE(f);
        std::fputs("haltfw-manifest 1\n", f);
        std::fclose(f);
    }
    CHECK_FALSE(ReadManifestRuleset(m, &rs, &err));
    CHECK(err == path + ": manifest: no 'end' line (truncated?)");
    std::remove(path.c_str());
    rmdir(dir);
}

namespace {

// A body sealed with a good checksum, so that only the record is judged.
bool ParseSealed(std::string body, std::string* err) {
    Sha256 h;
    h.Update(body);
    Manifest out;
    return ParseManifest(body + "end " + h.HexFinal() + "\n", &out, err);
}

WgKey KeyOf(uint8_t b) { return FilledWgKey(b); }

}  // namespace

TEST_CASE("a manifest carries a bridge's ports and that it is silent; a port before its bridge is refused") {
    Manifest in = Sample();
    in.links.push_back({"lan", "br0", {}, {}, {"p1", "p2"}, true});
    std::string text = SerializeManifest(in);
    CHECK(text.find("link lan br0\nport br0 p1\nport br0 p2\nsilent br0\n") != std::string::npos);
    Manifest out;
    std::string err;
    REQUIRE(ParseManifest(text, &out, &err));
    REQUIRE(out.links.size() == 3);
    CHECK(out.links[2].ports == std::vector<std::string>{"p1", "p2"});
    CHECK(out.links[2].silent);
    CHECK_FALSE(out.links[0].silent);
    CHECK(SerializeManifest(out) == text);
    // Sealed with a good checksum, but a port record of another link.
    std::string body = text.substr(0, text.rfind("end "));
    body.replace(body.find("port br0 p1"), 11, "port eth0 p1");
    CHECK_FALSE(ParseSealed(body, &err));
    CHECK(err.find("port before its bridge's link") != std::string::npos);
}

TEST_CASE("a manifest carries the bridges and VLANs apply made; a bad or misplaced record is refused") {
    Manifest in = Sample();
    ManifestLink br{"lan", "br0", {}, {}, {"p1"}, true};
    br.bridge = Link::BridgeOptions{0, 30000, 0};
    br.ifindex = 7;
    ManifestLink vlan{"guest", "trunk0.20", {}};
    vlan.vlan_parent = "trunk0";
    vlan.vlan_id = 20;
    in.links.push_back(br);
    in.links.push_back(vlan);
    std::string text = SerializeManifest(in);
    CHECK(text.find("silent br0\nbridge br0 0 30000 0\nifindex br0 7\nlink guest trunk0.20\nvlan trunk0.20 trunk0 20\n") !=
          std::string::npos);
    Manifest out;
    std::string err;
    REQUIRE(ParseManifest(text, &out, &err));
    REQUIRE(out.links.size() == 4);
    CHECK(out.links[2].bridge == br.bridge);
    CHECK(out.links[2].vlan_parent.empty());
    CHECK(out.links[3].vlan_parent == "trunk0");
    CHECK(out.links[3].vlan_id == 20);
    CHECK(out.links[2].ifindex == 7);
    CHECK(out.links[3].ifindex == 0);
    CHECK_FALSE(out.links[3].bridge);
    CHECK_FALSE(out.links[0].bridge);
    CHECK(SerializeManifest(out) == text);

    std::string body = text.substr(0, text.rfind("end "));
    auto refused = [&](const std::string& from, const std::string& to, const std::string& why) {
        std::string b = body;
        REQUIRE(b.find(from) != std::string::npos);
        b.replace(b.find(from), from.size(), to);
        std::string e;
        CHECK_FALSE(ParseSealed(b, &e));
        INFO(from << " -> " << to << ": " << e);
        CHECK(e.find(why) != std::string::npos);
    };
    refused("vlan trunk0.20 trunk0 20", "vlan trunk0.20 trunk0 0", "bad vlan record");
    refused("vlan trunk0.20 trunk0 20", "vlan trunk0.20 trunk0 4095", "bad vlan record");
    refused("vlan trunk0.20 trunk0 20", "vlan trunk0.20 trunk0 -1", "bad vlan record");
    refused("vlan trunk0.20 trunk0 20", "vlan trunk0.20 trunk0.20 20", "bad vlan record");
    refused("vlan trunk0.20 trunk0 20", "vlan trunk0.20 a/b 20", "bad vlan record");
    refused("vlan trunk0.20 trunk0 20", "vlan br0 trunk0 20", "vlan before its link");
    refused("vlan trunk0.20 trunk0 20", "vlan trunk0.20 trunk0 20\nvlan trunk0.20 trunk0 21", "bad vlan record");
    refused("vlan trunk0.20 trunk0 20", "vlan trunk0.20 trunk0 20\nbridge trunk0.20 0 30000 0", "bad bridge record");
    refused("bridge br0 0 30000 0", "bridge br0 0 30000 2", "bad bridge record");
    refused("bridge br0 0 30000 0", "bridge br0 1 30000 0", "bad bridge record");  // STP on: a usermode helper
    refused("bridge br0 0 30000 0", "bridge br0 0 0 0", "bad bridge record");      // ageing 0: a hub
    refused("link guest trunk0.20", "link guest br0", "link br0 twice");
    refused("silent br0\n", "silent br0\nvlan br0 eth0 5\n", "bad vlan record");
    refused("ifindex br0 7", "ifindex br0 0", "bad ifindex record");
    refused("ifindex br0 7", "ifindex br0 7\nifindex br0 8", "bad ifindex record");
    refused("ifindex br0 7", "ifindex eth0 7", "ifindex before its link");
    refused("bridge br0 0 30000 0", "bridge br0 0 x 0", "bad bridge record");
    refused("bridge br0 0 30000 0", "bridge eth0 0 30000 0", "bridge before its link");
}

TEST_CASE("a manifest carries a link's routes and its WireGuard device with every peer") {
    Manifest in = Sample();
    ManifestLink vpn{"vpn", "wg0", {*ParsePrefix("203.0.113.129/25", true)}};
    vpn.mtu = 1380;
    vpn.routes.push_back({*ParsePrefix("198.51.100.0/24", true), std::nullopt, 0});
    vpn.routes.push_back({*ParsePrefix("2001:db8:5::/48", true), ParseIpAddr("2001:db8::1"), 1024});
    in.links.push_back(vpn);
    WgDevice d = SampleWgDevice();
    d.fwmark = 7;
    d.peers[1].allowed_ips.clear();  // a peer with none
    in.wireguard.push_back(d);

    std::string text = SerializeManifest(in);
    CHECK(text.find("address wg0 203.0.113.129/25\nmtu wg0 1380\nroute wg0 198.51.100.0/24 - 0\nroute wg0 2001:db8:5::/48 2001:db8::1 1024\n") !=
          std::string::npos);
    CHECK(text.find("wireguard wg0 " + std::string(64, '1') + " 51820 7\n") != std::string::npos);
    CHECK(text.find("wgpeer wg0 " + std::string(64, '2') + " " + std::string(64, '3') +
                    " 198.51.100.77:51821 25 203.0.113.130/32,2001:db8:77::/64\n") != std::string::npos);
    CHECK(text.find("wgpeer wg0 " + std::string(64, '4') + " - [2001:db8::7]:443 0 -\n") != std::string::npos);
    Manifest out;
    std::string err;
    REQUIRE(ParseManifest(text, &out, &err));
    REQUIRE(out.links.size() == 3);
    CHECK(out.links[2].routes == vpn.routes);
    CHECK(out.links[2].mtu == 1380);
    CHECK(out.links[0].mtu == 0);
    REQUIRE(out.wireguard.size() == 1);
    const WgDevice& o = out.wireguard[0];
    CHECK(o.name == "wg0");
    REQUIRE(o.private_key);
    CHECK(o.private_key->key() == KeyOf(0x11));
    CHECK(o.listen_port == 51820);
    CHECK(o.fwmark == 7);
    CHECK(WgDeviceDifferences(d, o).empty());
    REQUIRE(o.peers.size() == 2);
    CHECK(o.peers[1].endpoint == d.peers[1].endpoint);
    CHECK_FALSE(o.peers[1].preshared_key);
    CHECK(SerializeManifest(out) == text);
}

TEST_CASE("a sealed manifest with a bad route or WireGuard record is refused at its line") {
    Manifest in = Sample();
    std::string body = SerializeManifest(in);
    body = body.substr(0, body.rfind("end "));
    const std::string key(64, 'a');
    struct Case {
        std::string record, why;
    } cases[] = {
        {"route eth9 198.51.100.0/24 - 0", "route before its link"},
        {"mtu eth9 1400", "mtu before its link"},
        {"mtu eth1 0", "bad mtu"},
        {"mtu eth1 -1", "bad mtu"},
        {"route eth1 198.51.100.1/24 - 0", "bad route destination"},
        {"route eth1 198.51.100.0/24 2001:db8::1 0", "bad route gateway"},
        {"route eth1 198.51.100.0/24 - x", "bad route metric"},
        {"wireguard wg0 " + key.substr(2) + " 51820 0", "bad wireguard private key"},
        {"wireguard wg0 " + std::string(63, 'a') + "g 51820 0", "bad wireguard private key"},
        {"wireguard wg0 " + key + " 70000 0", "bad wireguard record"},
        {"wgpeer wg0 " + key + " - - 0 -", "wgpeer before its wireguard device"},
        {"wireguard wg0 " + key + " 1 0\nwgpeer wg0 " + key + " - 198.51.100.7 0 -", "bad wgpeer endpoint"},
        {"wireguard wg0 " + key + " 1 0\nwgpeer wg0 " + key + " - [2001:db8::1]:0 0 -", "bad wgpeer endpoint"},
        {"wireguard wg0 " + key + " 1 0\nwgpeer wg0 " + key + " - - 0 10.0.0.1/8", "bad wgpeer allowed IP"},
        {"wireguard wg0 " + key + " 1 0\nwgpeer wg0 " + key + " 12 - 0 -", "bad wgpeer preshared key"},
        {"wireguard wg0 " + key + " 1 0\nwgpeer wg0 " + key + " - - 0 -\nwgpeer wg0 " + key + " - - 0 -",
         "wgpeer " + EncodeWgKey(KeyOf(0xaa)) + " twice"},
        {"wireguard wg0 " + key + " 1 0\nwireguard wg0 " + key + " 2 0", "wireguard device wg0 twice"},
        {"wireguard wg0 " + std::string(64, '0') + " 1 0", "bad wireguard private key"},
        {"wireguard " + std::string(16, 'w') + " " + key + " 1 0", "bad wireguard record"},
        {"wireguard wg/0 " + key + " 1 0", "bad wireguard record"},
        {"link vpn " + std::string(20000, 'w'), "bad link name"},
        {"link lan br0\nport br0 ..", "bad port name"},
        {"wireguard wg0 " + key + " 1 0\nwgpeer wg0 " + key + " - [198.51.100.7]:1 0 -", "bad wgpeer endpoint"},
        {"wireguard wg0 " + key + " 1 0\nwgpeer wg0 " + key + " - 2001:db8::7:443 0 -", "bad wgpeer endpoint"},
        {"wireguard wg0 " + key + " 1 0\nwgpeer wg0 " + key + " - - 0 10.0.0.0/8,", "bad wgpeer allowed IP"},
        {"wireguard wg0 " + key + " 1 0\nwgpeer wg0 " + key + " - - 0 10.0.0.0/8,,10.1.0.0/16", "bad wgpeer allowed IP"},
        {"wireguard wg0 " + key + " 1 0\nwgpeer wg0 " + key + " - - 0 10.0.0.0/8,10.0.0.0/8", "wgpeer allowed IP twice"},
    };
    for (const Case& c : cases) {
        INFO(c.record);
        std::string err;
        CHECK_FALSE(ParseSealed(body + c.record + "\n", &err));
        CHECK(err.find(": " + c.why) != std::string::npos);
        CHECK(err.find(key) == std::string::npos);  // a key is never quoted
    }
}

TEST_CASE("the WireGuard digest follows the configuration, not its order, and shows no secret") {
    const WgDevice d = SampleWgDevice();
    const std::string base = WireguardDigest({d});
    CHECK(base.size() == 64);
    CHECK(WireguardDigest({}).empty());

    WgDevice reordered = d;
    std::swap(reordered.peers[0], reordered.peers[1]);
    std::swap(reordered.peers[1].allowed_ips[0], reordered.peers[1].allowed_ips[1]);
    CHECK(WireguardDigest({reordered}) == base);

    // Each thing the halted box is configured by changes it.
    auto changed = [&](const std::function<void(WgDevice*)>& change) {
        WgDevice c = d;
        change(&c);
        return WireguardDigest({c}) != base;
    };
    CHECK(changed([](WgDevice* c) { c->private_key = WgSecret(KeyOf(0x12)); }));
    CHECK(changed([](WgDevice* c) { c->listen_port = 51821; }));
    CHECK(changed([](WgDevice* c) { c->fwmark = 1; }));
    CHECK(changed([](WgDevice* c) { c->peers[0].preshared_key = WgSecret(KeyOf(0x34)); }));
    CHECK(changed([](WgDevice* c) { c->peers[0].preshared_key.reset(); }));
    CHECK(changed([](WgDevice* c) { c->peers[0].allowed_ips.pop_back(); }));
    CHECK(changed([](WgDevice* c) { c->peers[1].endpoint.reset(); }));
    CHECK(changed([](WgDevice* c) { c->peers[1].keepalive_s = 25; }));
    CHECK(changed([](WgDevice* c) { c->peers.pop_back(); }));
    CHECK(changed([](WgDevice* c) { c->name = "wg1"; }));
    // The same public key from the same private key: only what derives
    // from the secrets goes in, so the digest can be printed.
    WgDevice same_key = d;
    same_key.private_key = WgSecret(KeyOf(0x11));
    CHECK(WireguardDigest({same_key}) == base);
}
