#include "halt/manifest.h"

#include <catch2/catch.hpp>
#include <linux/netfilter.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <utility>
#include <vector>

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

TEST_CASE("a manifest carries a bridge's ports and that it is silent; a port before its bridge is refused") {
    Manifest in = Sample();
    in.links.push_back({"lan", "br0", {}, {"p1", "p2"}, true});
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
    Sha256 h;
    h.Update(body);
    CHECK_FALSE(ParseManifest(body + "end " + h.HexFinal() + "\n", &out, &err));
    CHECK(err.find("port before its bridge's link") != std::string::npos);
}
