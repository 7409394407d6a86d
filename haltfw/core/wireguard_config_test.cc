#include "core/wireguard_config.h"

#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>

#include "base/scratch_dir_test_support.h"
#include "core/config.h"
#include "core/config_test_support.h"

using namespace haltfw;

namespace {

// RFC 7748's Alice: private key and its public key; Bob's public key.
const std::string kAlicePrivate = "dwdtCnMYpX08FsFyUbJmRd9ML4frwJkqsXf7pR25LCo=";
const std::string kAlicePublic = "hSDwCYkwp1R0i33ctD73Wg2/Og0mOBr066SpjqqbTmo=";
const std::string kBobPublic = "3p7bfXt9wbTTW2HC7OQ1Nz+DQ8hbeGdNrfx+FG+IK08=";
const std::string kPsk = "MzMzMzMzMzMzMzMzMzMzMzMzMzMzMzMzMzMzMzMzMzM=";

const std::string kHead = R"([ruleset]
file = rules.nft
[interface.vpn]
device = wg0
wireguard-key = wg0.key
listen-port = 51820
address = 203.0.113.129/25
)";  // 7 lines

std::vector<std::string> Errors(const std::string& text) { return ConfigErrors(text); }

}  // namespace

TEST_CASE("wireguard: an interface and its peers parse into plain values", "[wireguard]") {
    Config c = ParseValid(kHead + R"([peer.laptop]
interface = vpn
public-key = )" + kBobPublic + R"(
allowed-ips = 203.0.113.130/32
allowed-ips = 2001:db8:77::/64, 192.0.2.128/25
endpoint = 198.51.100.77:51821
persistent-keepalive = 25
preshared-key-file = /etc/haltfw/laptop.psk
[peer.site]
interface = vpn
public-key = )" + kAlicePublic + R"(
endpoint = [2001:db8::7]:443
allowed-ips = 203.0.113.200/29
)",
                          "/etc/haltfw/haltfw.conf");
    const InterfaceConfig& vpn = *c.FindRole("vpn");
    REQUIRE(IsWireguard(vpn));
    CHECK(vpn.wireguard->key_file == "/etc/haltfw/wg0.key");
    CHECK(vpn.wireguard->key_line == 5);
    CHECK(vpn.wireguard->listen_port == 51820);
    CHECK_FALSE(vpn.wireguard->private_key);  // LoadConfig reads it
    CHECK(vpn.kind_key == "wireguard-key");
    REQUIRE(c.peers.size() == 2);
    const PeerConfig& l = c.peers[0];
    CHECK(l.name == "laptop");
    CHECK(l.line == 8);
    CHECK(l.interface == "vpn");
    REQUIRE(l.public_key);
    CHECK(EncodeWgKey(*l.public_key) == kBobPublic);
    REQUIRE(l.allowed_ips.size() == 3);
    CHECK(FormatPrefix(l.allowed_ips[1].prefix) == "2001:db8:77::/64");
    CHECK(l.allowed_ips[2].line == 12);
    REQUIRE(l.endpoint);
    CHECK(FormatWgEndpoint(*l.endpoint) == "198.51.100.77:51821");
    CHECK(l.keepalive_s == 25);
    CHECK(l.psk_file == "/etc/haltfw/laptop.psk");
    REQUIRE(c.peers[1].endpoint);
    CHECK(FormatWgEndpoint(*c.peers[1].endpoint) == "[2001:db8::7]:443");
    CHECK(PeersOf(c, "vpn").size() == 2);
}

TEST_CASE("wireguard: each interface key's errors", "[wireguard]") {
    CHECK(Errors(R"([ruleset]
file = r.nft
[interface.vpn]
device = wg0
wireguard-key =
listen-port = 0
)") == std::vector<std::string>{"haltfw.conf:5: interface 'vpn': wireguard-key: empty path",
                                 "haltfw.conf:6: interface 'vpn': listen-port '0': not a port number (1 to 65535)"});
    CHECK(Errors(kHead + "wireguard-key = other.key\nlisten-port = 1\n") ==
          std::vector<std::string>{"haltfw.conf:8: interface 'vpn': 'wireguard-key' given twice (first on line 5)",
                                   "haltfw.conf:9: interface 'vpn': 'listen-port' given twice (first on line 6)"});
    CHECK(Errors(R"([ruleset]
file = r.nft
[interface.lan]
device = eth1
listen-port = 51820
)") == std::vector<std::string>{
               "haltfw.conf:5: interface 'lan': listen-port without wireguard-key (only a WireGuard interface listens)"});
    CHECK(Errors(R"([ruleset]
file = r.nft
[interface.vpn]
mac = 52:54:00:12:34:56
wireguard-key = k
)") == std::vector<std::string>{"haltfw.conf:5: interface 'vpn': haltfw creates a WireGuard device by its name: give "
                                 "'device =', not 'mac ='"});
    CHECK(Errors(R"([ruleset]
file = r.nft
[interface.vpn]
device = br0
bridge = eth1
wireguard-key = k
)") == std::vector<std::string>{"haltfw.conf:6: interface 'vpn': 'wireguard-key' and 'bridge' (line 5) each make a "
                                 "device of their own kind: give one"});
}

TEST_CASE("wireguard: each peer key's errors", "[wireguard]") {
    auto peer = [](const std::string& body) { return Errors(kHead + "[peer.p]\ninterface = vpn\npublic-key = " + kBobPublic + "\n" + body); };
    // Lines: 8 [peer.p], 9 interface, 10 public-key, 11 the key under test.
    CHECK(peer("public-key = x\n") ==
          std::vector<std::string>{"haltfw.conf:11: peer 'p': 'public-key' given twice (first on line 10)"});
    CHECK(peer("allowed-ips = 203.0.113.1/24\n") ==
          std::vector<std::string>{"haltfw.conf:11: peer 'p': allowed-ips '203.0.113.1/24': has host bits set (did you "
                                   "mean 203.0.113.0/24?)"});
    CHECK(peer("allowed-ips = 203.0.113.0/33\n") ==
          std::vector<std::string>{"haltfw.conf:11: peer 'p': allowed-ips '203.0.113.0/33': prefix length out of range"});
    CHECK(peer("allowed-ips = 2001:db8::/64\nallowed-ips = 2001:db8::/64\n") ==
          std::vector<std::string>{
              "haltfw.conf:12: peer 'p': allowed-ips '2001:db8::/64': given twice (first on line 11)"});
    CHECK(peer("allowed-ips = ,\n") == std::vector<std::string>{"haltfw.conf:11: peer 'p': allowed-ips: no prefix given"});
    CHECK(peer("endpoint = vpn.example.org:51820\n") ==
          std::vector<std::string>{"haltfw.conf:11: peer 'p': endpoint 'vpn.example.org:51820': a host name; nothing can "
                                   "resolve names once the box is halted: give an IP address"});
    CHECK(peer("endpoint = 198.51.100.7\n") ==
          std::vector<std::string>{
              "haltfw.conf:11: peer 'p': endpoint '198.51.100.7': no port: expected IP:PORT, or [IPv6]:PORT"});
    CHECK(peer("endpoint = 2001:db8::7:51820\n") ==
          std::vector<std::string>{
              "haltfw.conf:11: peer 'p': endpoint '2001:db8::7:51820': an IPv6 endpoint is written [ADDRESS]:PORT"});
    CHECK(peer("endpoint = [2001:db8::7:51820\n") ==
          std::vector<std::string>{
              "haltfw.conf:11: peer 'p': endpoint '[2001:db8::7:51820': expected IP:PORT, or [IPv6]:PORT"});
    CHECK(peer("endpoint = [198.51.100.7]:51820\n").empty());
    CHECK(peer("endpoint = 198.51.100.7:0\n") ==
          std::vector<std::string>{
              "haltfw.conf:11: peer 'p': endpoint '198.51.100.7:0': port '0': not a port number (1 to 65535)"});
    CHECK(peer("endpoint = 198.51.100.300:5\n") ==
          std::vector<std::string>{"haltfw.conf:11: peer 'p': endpoint '198.51.100.300:5': '198.51.100.300' is not an IP "
                                   "address"});
    CHECK(peer("persistent-keepalive = 0\n") ==
          std::vector<std::string>{
              "haltfw.conf:11: peer 'p': persistent-keepalive '0': not a number of seconds from 1 to 65535"});
    CHECK(peer("persistent-keepalive = 65536\n") ==
          std::vector<std::string>{
              "haltfw.conf:11: peer 'p': persistent-keepalive '65536': not a number of seconds from 1 to 65535"});
    CHECK(peer("persistent-keepalive = 65535\n").empty());
    CHECK(peer("preshared-key-file =\n") ==
          std::vector<std::string>{"haltfw.conf:11: peer 'p': preshared-key-file: empty path"});
    CHECK(peer("psk = x\n") == std::vector<std::string>{"haltfw.conf:11: unknown key 'psk' in [peer.p]"});
    CHECK(Errors(kHead + "[peer.p]\ninterface = vpn\npublic-key = hSDwCYkwp1R0i33ctD73Wg2/Og0mOBr066SpjqqbTmo\n") ==
          std::vector<std::string>{"haltfw.conf:10: peer 'p': public-key: not 44 characters (43)"});
    CHECK(Errors(kHead + "[peer.a b]\n") ==
          std::vector<std::string>{
              "haltfw.conf:8: section [peer.a b]: peer name 'a b' may hold only letters, digits, '-' and '_'"});
    CHECK(Errors(kHead + "[peer.p]\ninterface = vpn\npublic-key = " + kBobPublic + "\n[peer.p]\n") ==
          std::vector<std::string>{"haltfw.conf:11: section [peer.p] given twice (first on line 8)"});
}

TEST_CASE("wireguard: peers checked against the interfaces and each other", "[wireguard]") {
    const std::string lan = "[interface.lan]\ndevice = eth1\naddress = 192.0.2.1/24\n";  // lines 8-10
    CHECK(Errors(kHead + lan + "[peer.p]\npublic-key = " + kBobPublic + "\n") ==
          std::vector<std::string>{
              "haltfw.conf:11: peer 'p': needs 'interface =' (the role of its WireGuard [interface.ROLE])"});
    CHECK(Errors(kHead + lan + "[peer.p]\ninterface = vpn\n") ==
          std::vector<std::string>{"haltfw.conf:11: peer 'p': needs 'public-key =' (the peer's base64 public key)"});
    CHECK(Errors(kHead + lan + "[peer.p]\ninterface = dmz\npublic-key = " + kBobPublic + "\n") ==
          std::vector<std::string>{"haltfw.conf:12: peer 'p': interface 'dmz': no section [interface.dmz]"});
    CHECK(Errors(kHead + lan + "[peer.p]\ninterface = lan\npublic-key = " + kBobPublic + "\n") ==
          std::vector<std::string>{"haltfw.conf:12: peer 'p': interface 'lan' is not a WireGuard interface (it has no "
                                   "'wireguard-key =')"});
    // Lines: 8 [peer.a], 9, 10 public-key, 11 allowed-ips, 12 [peer.b], 13, 14 public-key, 15 allowed-ips.
    auto two = [](const std::string& key_b, const std::string& ips_a, const std::string& ips_b) {
        return Errors(kHead + "[peer.a]\ninterface = vpn\npublic-key = " + kBobPublic + "\nallowed-ips = " + ips_a +
                      "\n[peer.b]\ninterface = vpn\npublic-key = " + key_b + "\nallowed-ips = " + ips_b + "\n");
    };
    CHECK(two(kAlicePublic, "203.0.113.130/32", "203.0.113.131/32").empty());
    CHECK(two(kBobPublic, "203.0.113.130/32", "203.0.113.131/32") ==
          std::vector<std::string>{"haltfw.conf:14: peer 'b': public-key is also peer 'a''s (line 10); a device has one "
                                   "peer per public key"});
    CHECK(two(kAlicePublic, "203.0.113.130/32", "203.0.113.130/32") ==
          std::vector<std::string>{"haltfw.conf:15: peer 'b': allowed-ips '203.0.113.130/32' overlaps "
                                   "'203.0.113.130/32' of peer 'a' (line 11); the kernel sends each address to one peer "
                                   "only: give each peer its own prefixes"});
    CHECK(two(kAlicePublic, "203.0.113.130/32", "203.0.113.128/25") ==
          std::vector<std::string>{"haltfw.conf:15: peer 'b': allowed-ips '203.0.113.128/25' overlaps "
                                   "'203.0.113.130/32' of peer 'a' (line 11); the kernel sends each address to one peer "
                                   "only: give each peer its own prefixes"});
    CHECK(two(kAlicePublic, "2001:db8::/32", "2001:db8:1::/48").size() == 1);
    CHECK(two(kAlicePublic, "2001:db8::/48", "2001:db8:1::/48").empty());
    // A peer with no allowed-ips is allowed, with a word.
    Diagnostics d;
    ParseConfig(kHead + "[peer.p]\ninterface = vpn\npublic-key = " + kBobPublic + "\n", "haltfw.conf", &d);
    CHECK(d.ok());
    CHECK(d.FormatWarnings() ==
          "haltfw.conf:8: peer 'p': no allowed-ips: nothing is sent to this peer, and nothing it sends is accepted\n");
}

namespace {

// A key file in `dir` with `text` and `mode`.
std::string KeyFile(const ScratchDir& dir, const std::string& name, const std::string& text, mode_t mode = 0600) {
    std::string p = dir.Write(name, text);
    REQUIRE(chmod(p.c_str(), mode) == 0);
    return p;
}

std::string KeyFileError(const std::string& path, uid_t owner = geteuid()) {
    WgSecret k;
    std::string why;
    if (ReadWgKeyFile(path, owner, &k, &why)) return "ok";
    return why;
}

}  // namespace

TEST_CASE("wireguard: a key file is refused unless it is one key, private to its owner", "[wireguard]") {
    ScratchDir dir("wgkey");
    WgSecret k;
    std::string why;
    REQUIRE(ReadWgKeyFile(KeyFile(dir, "ok.key", kAlicePrivate + "\n"), geteuid(), &k, &why));
    CHECK(EncodeWgKey(WgPublicKey(k)) == kAlicePublic);
    CHECK(KeyFileError(KeyFile(dir, "nonl.key", kAlicePrivate)) == "ok");
    CHECK(KeyFileError(KeyFile(dir, "ro.key", kAlicePrivate, 0400)) == "ok");

    CHECK(KeyFileError(KeyFile(dir, "open.key", kAlicePrivate, 0644)) ==
          "mode 0644: a key file must be mode 0600 or 0400 (readable by root alone)");
    CHECK(KeyFileError(KeyFile(dir, "group.key", kAlicePrivate, 0640)) ==
          "mode 0640: a key file must be mode 0600 or 0400 (readable by root alone)");
    CHECK(KeyFileError(KeyFile(dir, "x.key", kAlicePrivate, 0700)) ==
          "mode 0700: a key file must be mode 0600 or 0400 (readable by root alone)");
    CHECK(KeyFileError(KeyFile(dir, "owner.key", kAlicePrivate), geteuid() + 1) ==
          "owned by uid " + std::to_string(geteuid()) + ": a key file must be owned by " +
              (geteuid() + 1 == 0 ? "root" : "uid " + std::to_string(geteuid() + 1)));
    CHECK(KeyFileError(KeyFile(dir, "short.key", kAlicePrivate.substr(0, 43) + "\n")) ==
          "holds 44 bytes: expected one base64 key (44 characters) and a newline");
    CHECK(KeyFileError(KeyFile(dir, "empty.key", "")) ==
          "holds 0 bytes: expected one base64 key (44 characters) and a newline");
    CHECK(KeyFileError(KeyFile(dir, "two.key", kAlicePrivate + "\n\n")) ==
          "holds 46 bytes: expected one base64 key (44 characters) and a newline");
    CHECK(KeyFileError(KeyFile(dir, "long.key", kAlicePrivate + "\n" + kAlicePrivate + "\n")) ==
          "longer than one key: expected one base64 key (44 characters) and a newline");
    CHECK(KeyFileError(KeyFile(dir, "crlf.key", kAlicePrivate + "\r\n")) ==
          "holds 46 bytes: expected one base64 key (44 characters) and a newline");
    std::string bad = kAlicePrivate;
    bad[5] = '!';
    CHECK(KeyFileError(KeyFile(dir, "bad.key", bad + "\n")) == "not a WireGuard key: not base64 (a '!' at character 6)");
    std::string link = dir.path + "/link.key";
    REQUIRE(symlink((dir.path + "/ok.key").c_str(), link.c_str()) == 0);
    CHECK(KeyFileError(link) == "a symbolic link: name the key file itself");
    CHECK(KeyFileError(dir.path) == "not a regular file (a directory)");
    CHECK(KeyFileError(dir.path + "/none.key") == "cannot read: No such file or directory");
}

TEST_CASE("wireguard: LoadConfig reads the keys, derives the public key, refuses the box's own", "[wireguard]") {
    ScratchDir dir("wgconf");
    dir.Write("rules.nft", "table inet t {\n}\n");
    KeyFile(dir, "wg0.key", kAlicePrivate + "\n");
    KeyFile(dir, "p.psk", kPsk + "\n");
    const std::string peers = "[peer.p]\ninterface = vpn\npublic-key = " + kBobPublic +
                              "\nallowed-ips = 203.0.113.130/32\npreshared-key-file = p.psk\n";
    std::string conf = dir.Write("haltfw.conf", kHead + peers);
    Diagnostics d;
    Config c = LoadConfig(conf, &d, geteuid());
    INFO(d.FormatErrors());
    REQUIRE(d.ok());
    const InterfaceConfig& vpn = *c.FindRole("vpn");
    REQUIRE(vpn.wireguard->private_key);
    CHECK(EncodeWgKey(vpn.wireguard->public_key) == kAlicePublic);
    REQUIRE(c.peers[0].preshared_key);
    CHECK(EncodeWgKey(c.peers[0].preshared_key->key()) == kPsk);

    // The box's own public key as a peer: the kernel would drop it silently.
    conf = dir.Write("own.conf", kHead + "[peer.me]\ninterface = vpn\npublic-key = " + kAlicePublic +
                                     "\nallowed-ips = 203.0.113.131/32\n");
    Diagnostics own;
    LoadConfig(conf, &own, geteuid());
    CHECK(FormattedErrors(own) ==
          std::vector<std::string>{conf + ":10: peer 'me': public-key is interface 'vpn''s own (the public key of its "
                                          "wireguard-key, line 5); the kernel ignores such a peer"});

    // A bad key file: the line that names it, the file, what is wrong, and
    // never the key.
    KeyFile(dir, "wg0.key", kAlicePrivate + "\n", 0644);
    KeyFile(dir, "p.psk", kPsk.substr(1) + "\n");
    conf = dir.Write("haltfw.conf", kHead + peers);
    Diagnostics bad;
    LoadConfig(conf, &bad, geteuid());
    CHECK(FormattedErrors(bad) ==
          std::vector<std::string>{conf + ":5: interface 'vpn': wireguard-key '" + dir.path +
                                       "/wg0.key': mode 0644: a key file must be mode 0600 or 0400 (readable by root "
                                       "alone)",
                                   conf + ":12: peer 'p': preshared-key-file '" + dir.path +
                                       "/p.psk': holds 44 bytes: expected one base64 key (44 characters) and a newline"});
    CHECK(bad.FormatErrors().find(kAlicePrivate.substr(0, 20)) == std::string::npos);
    // As root, the rule is root: a file of another owner is refused.
    if (geteuid() == 0) {
        KeyFile(dir, "wg0.key", kAlicePrivate + "\n");
        REQUIRE(chown((dir.path + "/wg0.key").c_str(), 65534, 65534) == 0);
        Diagnostics other;
        LoadConfig(conf, &other, 0);
        CHECK(FormattedErrors(other).at(0) == conf + ":5: interface 'vpn': wireguard-key '" + dir.path +
                                                  "/wg0.key': owned by uid 65534: a key file must be owned by root");
    }
}

TEST_CASE("wireguard: a key given where a key file's name goes is refused, and never quoted", "[wireguard]") {
    // wg-quick's PrivateKey = takes the key itself; haltfw's wireguard-key
    // takes a file's name.
    CHECK(Errors(R"([ruleset]
file = r.nft
[interface.vpn]
device = wg0
wireguard-key = )" + kAlicePrivate + "\n") ==
          std::vector<std::string>{"haltfw.conf:5: interface 'vpn': wireguard-key: this is a key, not a file name: put "
                                   "the key in a file of mode 0600 owned by root and give its name"});
    CHECK(Errors(kHead + "[peer.p]\ninterface = vpn\npublic-key = " + kBobPublic + "\npreshared-key-file = " + kPsk +
                 "\n") ==
          std::vector<std::string>{"haltfw.conf:11: peer 'p': preshared-key-file: this is a key, not a file name: put "
                                   "the key in a file of mode 0600 owned by root and give its name"});
}

TEST_CASE("wireguard: no message shows a value that could be a key", "[wireguard]") {
    ScratchDir dir("wgleak");
    dir.Write("rules.nft", "table inet t {\n}\n");
    // The key as written, and near misses of it: its '=' lost, cut short,
    // a word after it, a directory before it.
    const std::vector<std::string> keys = {kAlicePrivate, kAlicePrivate.substr(0, 43), kAlicePrivate.substr(0, 40),
                                           kAlicePrivate + " private", "./" + kAlicePrivate};
    // Every key a value of which reaches a message, the key under test in each.
    const std::vector<std::string> places = {
        "[interface.vpn]\ndevice = wg0\nwireguard-key = KEY\n",
        "[interface.vpn]\ndevice = wg0\nwireguard-key = KEY\nlisten-port = KEY\n",
        "[interface.vpn]\ndevice = wg0\nKEY\n",
        "[interface.vpn]\ndevice = wg0\nwireguard-key = k\n[peer.p]\ninterface = vpn\npublic-key = " + kBobPublic +
            "\npreshared-key-file = KEY\nendpoint = KEY\npersistent-keepalive = KEY\nallowed-ips = KEY\nKEY\n",
        "[interface.vpn]\ndevice = wg0\nwireguard-key = k\n[peer.p]\ninterface = vpn\npublic-key = " + kBobPublic +
            "\nendpoint = 198.51.100.7:KEY\n",
        "[interface.vpn]\ndevice = wg0\nwireguard-key = k\n[peer.p]\ninterface = KEY\npublic-key = KEY\n",
    };
    for (const std::string& key : keys) {
        for (const std::string& place : places) {
            std::string text = "[ruleset]\nfile = rules.nft\n" + place;
            for (size_t at; (at = text.find("KEY")) != std::string::npos;) text.replace(at, 3, key);
            std::string conf = dir.Write("haltfw.conf", text);
            Diagnostics d;
            LoadConfig(conf, &d, geteuid());
            std::string said = d.FormatErrors() + d.FormatWarnings();
            INFO(text);
            INFO(said);
            CHECK_FALSE(d.ok());
            // No 12 characters of the key in a row.
            for (size_t i = 0; i + 12 <= 40; ++i) CHECK(said.find(kAlicePrivate.substr(i, 12)) == std::string::npos);
        }
    }
}

TEST_CASE("wireguard: a peer may come before its interface", "[wireguard]") {
    Config c = ParseValid("[peer.p]\ninterface = vpn\npublic-key = " + kBobPublic +
                          "\nallowed-ips = 203.0.113.130\n" + kHead);
    REQUIRE(c.peers.size() == 1);
    CHECK(FormatPrefix(c.peers[0].allowed_ips[0].prefix) == "203.0.113.130/32");  // no length: one address
    CHECK(PeersOf(c, "vpn").size() == 1);
    CHECK(PeersOf(c, "lan").empty());
}
