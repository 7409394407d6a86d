#include "core/wireguard_config.h"

#include <fcntl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <map>

#include "base/file_kind.h"
#include "core/config.h"
#include "core/ini.h"

namespace haltfw {
namespace {

std::string Quote(std::string_view s) { return QuoteUnlessKey(s); }

std::string Line(int line) { return std::to_string(line); }

std::string Absolute(const std::string& config_path, const std::string& file) {
    if (file[0] == '/') return file;
    size_t slash = config_path.rfind('/');
    std::string dir = slash == std::string::npos ? "." : slash == 0 ? "/" : config_path.substr(0, slash);
    return dir + "/" + file;
}

bool ParseNumber(std::string_view s, uint32_t lo, uint32_t hi, uint32_t* out) {
    uint32_t v = 0;
    auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (ec != std::errc() || p != s.data() + s.size() || v < lo || v > hi) return false;
    *out = v;
    return true;
}

// A key given once per section: reports a repeat (its first line is
// *line) and returns false for it.
bool Once(const std::string& where, const IniEntry& e, int* line, const std::string& path, Diagnostics* diags) {
    if (*line) {
        diags->Error(path, e.line, where + Quote(e.key) + " given twice (first on line " + Line(*line) + ")");
        return false;
    }
    *line = e.line;
    return true;
}

// A key file's path as written: not empty, and not the key itself (as
// wg-quick's PrivateKey = takes it), which is refused without being quoted.
// *shown is the path as messages show it.
bool KeyFilePath(const std::string& where, const IniEntry& e, const std::string& path, Diagnostics* diags,
                 std::string* out, std::string* shown) {
    if (e.value.empty()) {
        diags->Error(path, e.line, where + e.key + ": empty path");
        return false;
    }
    WgKey k{};
    std::string why;
    bool is_key = DecodeWgKey(e.value, &k, &why);
    WipeBytes(k.data(), k.size());
    if (is_key) {
        diags->Error(path, e.line,
                     where + e.key +
                         ": this is a key, not a file name: put the key in a file of mode 0600 owned by root and "
                         "give its name");
        return false;
    }
    *out = Absolute(path, e.value);
    *shown = LooksLikeWgKey(e.value) ? QuoteUnlessKey(e.value) : QuoteValue(*out);
    return true;
}

// "198.51.100.77:51820" or "[2001:db8::7]:51820"; *why says what is wrong.
bool ParseEndpoint(const std::string& text, WgEndpoint* out, std::string* why) {
    std::string host, port;
    if (!text.empty() && text[0] == '[') {
        size_t close = text.find(']');
        if (close == std::string::npos || close + 1 >= text.size() || text[close + 1] != ':') {
            *why = "expected IP:PORT, or [IPv6]:PORT";
            return false;
        }
        host = text.substr(1, close - 1);
        port = text.substr(close + 2);
    } else {
        size_t colon = text.rfind(':');
        if (colon == std::string::npos) {
            *why = "no port: expected IP:PORT, or [IPv6]:PORT";
            return false;
        }
        host = text.substr(0, colon);
        port = text.substr(colon + 1);
        if (host.find(':') != std::string::npos) {
            *why = "an IPv6 endpoint is written [ADDRESS]:PORT";
            return false;
        }
    }
    std::optional<IpAddr> ip = ParseIpAddr(host);
    if (!ip) {
        bool name = !host.empty() && std::any_of(host.begin(), host.end(), [](char c) {
            return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '-';
        });
        *why = name ? "a host name; nothing can resolve names once the box is halted: give an IP address"
                    : Quote(host) + " is not an IP address";
        return false;
    }
    if (text[0] != '[' && ip->family == AF_INET6) {
        *why = "an IPv6 endpoint is written [ADDRESS]:PORT";
        return false;
    }
    uint32_t p = 0;
    if (!ParseNumber(port, 1, 65535, &p)) {
        *why = "port " + Quote(port) + ": not a port number (1 to 65535)";
        return false;
    }
    out->addr = *ip;
    out->port = static_cast<uint16_t>(p);
    return true;
}

void AllowedIps(PeerConfig* peer, const IniEntry& e, const std::string& where, const std::string& path,
                Diagnostics* diags) {
    // A list as wg-quick writes it ("a, b") or one prefix per line.
    std::string text = e.value;
    std::replace(text.begin(), text.end(), ',', ' ');
    size_t count = 0;
    for (size_t i = 0; i < text.size();) {
        while (i < text.size() && (text[i] == ' ' || text[i] == '\t')) ++i;
        size_t b = i;
        while (i < text.size() && text[i] != ' ' && text[i] != '\t') ++i;
        if (i == b) break;
        ++count;
        std::string word = text.substr(b, i - b), err;
        const std::string what = where + "allowed-ips " + Quote(word) + ": ";
        std::optional<Prefix> p = ParsePrefix(word, false, &err);
        if (!p) {
            diags->Error(path, e.line, what + err);
            continue;
        }
        if (p->network() != *p) {
            diags->Error(path, e.line,
                         what + "has host bits set (did you mean " + FormatPrefix(p->network()) + "?)");
            continue;
        }
        auto same = std::find_if(peer->allowed_ips.begin(), peer->allowed_ips.end(),
                                 [&](const AllowedIpSpec& a) { return a.prefix == *p; });
        if (same != peer->allowed_ips.end()) {
            diags->Error(path, e.line, what + "given twice (first on line " + Line(same->line) + ")");
            continue;
        }
        peer->allowed_ips.push_back({*p, e.line});
    }
    if (count == 0) diags->Error(path, e.line, where + "allowed-ips: no prefix given");
}

std::string Octal(mode_t m) {
    char buf[8];
    snprintf(buf, sizeof(buf), "%04o", static_cast<unsigned>(m & 07777));
    return buf;
}

// Closes on scope exit.
struct Fd {
    int fd;
    explicit Fd(int f) : fd(f) {}
    ~Fd() {
        if (fd >= 0) close(fd);
    }
    Fd(const Fd&) = delete;
    Fd& operator=(const Fd&) = delete;
};

}  // namespace

std::string QuoteUnlessKey(std::string_view value) {
    return LooksLikeWgKey(value) ? "(not shown: it looks like a key)" : QuoteValue(value);
}

bool IsWireguard(const InterfaceConfig& ifc) { return ifc.wireguard && ifc.wireguard->key_line != 0; }

bool IsWireguardInterfaceKey(const std::string& key) { return key == "wireguard-key" || key == "listen-port"; }

void ParseWireguardInterfaceKey(InterfaceConfig* ifc, const IniEntry& e, const std::string& path,
                                Diagnostics* diags) {
    const std::string where = "interface " + Quote(ifc->role) + ": ";
    if (!ifc->wireguard) ifc->wireguard.emplace();
    WireguardInterfaceConfig& wg = *ifc->wireguard;
    if (e.key == "wireguard-key") {
        if (!Once(where, e, &wg.key_line, path, diags)) return;
        KeyFilePath(where, e, path, diags, &wg.key_file, &wg.key_file_shown);  // left empty when unusable (said)
    } else {
        if (!Once(where, e, &wg.listen_port_line, path, diags)) return;
        uint32_t port = 0;
        if (!ParseNumber(e.value, 1, 65535, &port))
            diags->Error(path, e.line, where + "listen-port " + Quote(e.value) + ": not a port number (1 to 65535)");
        wg.listen_port = static_cast<uint16_t>(port);
    }
}

void ParsePeerKey(PeerConfig* peer, const IniEntry& e, const std::string& path, Diagnostics* diags) {
    const std::string where = "peer " + Quote(peer->name) + ": ";
    std::string why;
    if (e.key == "interface") {
        if (!Once(where, e, &peer->interface_line, path, diags)) return;
        peer->interface = e.value;
        if (e.value.empty()) diags->Error(path, e.line, where + "interface: empty role name");
    } else if (e.key == "public-key") {
        if (!Once(where, e, &peer->public_key_line, path, diags)) return;
        WgKey k{};
        if (DecodeWgKey(e.value, &k, &why)) peer->public_key = k;
        else diags->Error(path, e.line, where + "public-key: " + why);
    } else if (e.key == "allowed-ips") {
        AllowedIps(peer, e, where, path, diags);
    } else if (e.key == "endpoint") {
        if (!Once(where, e, &peer->endpoint_line, path, diags)) return;
        WgEndpoint ep;
        if (ParseEndpoint(e.value, &ep, &why)) peer->endpoint = ep;
        else diags->Error(path, e.line, where + "endpoint " + Quote(e.value) + ": " + why);
    } else if (e.key == "persistent-keepalive") {
        if (!Once(where, e, &peer->keepalive_line, path, diags)) return;
        uint32_t s = 0;
        if (ParseNumber(e.value, 1, 65535, &s)) peer->keepalive_s = static_cast<uint16_t>(s);
        else
            diags->Error(path, e.line,
                         where + "persistent-keepalive " + Quote(e.value) + ": not a number of seconds from 1 to 65535");
    } else if (e.key == "preshared-key-file") {
        if (!Once(where, e, &peer->psk_line, path, diags)) return;
        KeyFilePath(where, e, path, diags, &peer->psk_file, &peer->psk_file_shown);
    } else {
        diags->Error(path, e.line, "unknown key " + Quote(e.key) + " in [peer." + peer->name + "]");
    }
}

std::vector<const PeerConfig*> PeersOf(const Config& cfg, const std::string& role) {
    std::vector<const PeerConfig*> out;
    for (const PeerConfig& p : cfg.peers)
        if (p.interface == role) out.push_back(&p);
    return out;
}

namespace {

// No two peers of one device may hold overlapping allowed IPs: the kernel
// keeps one peer per address (an equal prefix moves silently to the last
// peer given it), so a second one would take traffic meant for the first.
// Prefixes either nest or are apart: sorted by (network, length), each one
// overlaps exactly the chain of enclosing prefixes before it.
void CheckAllowedIps(const std::vector<const PeerConfig*>& peers, const std::string& path, Diagnostics* diags) {
    struct Item {
        Prefix net;
        const PeerConfig* peer;
        int line;
    };
    std::vector<Item> all;
    for (const PeerConfig* p : peers)
        for (const AllowedIpSpec& a : p->allowed_ips) all.push_back({a.prefix, p, a.line});
    std::sort(all.begin(), all.end(), [](const Item& a, const Item& b) {
        return std::tie(a.net, a.line) < std::tie(b.net, b.line);
    });
    std::vector<const Item*> chain;
    for (const Item& it : all) {
        while (!chain.empty() && !chain.back()->net.contains(it.net.addr)) chain.pop_back();
        for (const Item* up : chain) {
            if (up->peer == it.peer) continue;
            // Said at the later of the two lines, naming the earlier.
            const Item& late = up->line > it.line ? *up : it;
            const Item& early = up->line > it.line ? it : *up;
            diags->Error(path, late.line,
                         "peer " + Quote(late.peer->name) + ": allowed-ips " + Quote(FormatPrefix(late.net)) +
                             " overlaps " + Quote(FormatPrefix(early.net)) + " of peer " + Quote(early.peer->name) +
                             " (line " + Line(early.line) +
                             "); the kernel sends each address to one peer only: give each peer its own prefixes");
        }
        chain.push_back(&it);
    }
}

}  // namespace

void CheckWireguard(const Config& cfg, Diagnostics* diags) {
    const std::string& path = cfg.path;
    for (const InterfaceConfig& ifc : cfg.interfaces) {
        if (!ifc.wireguard) continue;
        const std::string where = "interface " + Quote(ifc.role) + ": ";
        if (ifc.wireguard->key_line == 0)
            diags->Error(path, ifc.wireguard->listen_port_line,
                         where + "listen-port without wireguard-key (only a WireGuard interface listens)");
        else if (ifc.mac)
            diags->Error(path, ifc.wireguard->key_line,
                         where + "haltfw creates a WireGuard device by its name: give 'device =', not 'mac ='");
    }
    std::map<std::string, std::vector<const PeerConfig*>> by_device;
    for (const PeerConfig& p : cfg.peers) {
        const std::string where = "peer " + Quote(p.name) + ": ";
        if (!p.public_key_line) diags->Error(path, p.line, where + "needs 'public-key =' (the peer's base64 public key)");
        if (!p.interface_line) {
            diags->Error(path, p.line, where + "needs 'interface =' (the role of its WireGuard [interface.ROLE])");
            continue;
        }
        if (p.interface.empty()) continue;  // said with the key
        const InterfaceConfig* ifc = cfg.FindRole(p.interface);
        if (!ifc) {
            diags->Error(path, p.interface_line,
                         where + "interface " + Quote(p.interface) + ": no section " +
                             (LooksLikeWgKey(p.interface) ? std::string("for it")
                                                           : QuoteValue("interface." + p.interface, '[', ']')));
            continue;
        }
        if (!IsWireguard(*ifc)) {
            diags->Error(path, p.interface_line,
                         where + "interface " + Quote(p.interface) +
                             " is not a WireGuard interface (it has no 'wireguard-key =')");
            continue;
        }
        by_device[p.interface].push_back(&p);
        if (p.allowed_ips.empty())
            diags->Warning(path, p.line,
                           where + "no allowed-ips: nothing is sent to this peer, and nothing it sends is accepted");
    }
    for (const auto& [role, peers] : by_device) {
        std::map<WgKey, const PeerConfig*> keys;
        for (const PeerConfig* p : peers) {
            if (!p->public_key) continue;
            auto [it, fresh] = keys.emplace(*p->public_key, p);
            if (!fresh)
                diags->Error(path, p->public_key_line,
                             "peer " + Quote(p->name) + ": public-key is also peer " + Quote(it->second->name) +
                                 "'s (line " + Line(it->second->public_key_line) +
                                 "); a device has one peer per public key");
        }
        CheckAllowedIps(peers, path, diags);
    }
}

bool ReadWgKeyFile(const std::string& path, uid_t owner, WgSecret* key, std::string* why) {
    // Looked at without following: a link could point anywhere, and the
    // rules are about the file that holds the key.
    struct stat st{};
    if (lstat(path.c_str(), &st) != 0) {
        *why = std::string("cannot read: ") + std::strerror(errno);
        return false;
    }
    if (S_ISLNK(st.st_mode)) {
        *why = "a symbolic link: name the key file itself";
        return false;
    }
    if (!S_ISREG(st.st_mode)) {
        *why = std::string("not a regular file (") + FileKind(st.st_mode) + ")";
        return false;
    }
    // O_NOFOLLOW and the inode check: a file swapped since the look is not read.
    Fd in(open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY | O_NONBLOCK));
    struct stat now{};
    if (in.fd < 0 || fstat(in.fd, &now) != 0) {
        *why = std::string("cannot read: ") + std::strerror(errno);
        return false;
    }
    if (now.st_dev != st.st_dev || now.st_ino != st.st_ino || !S_ISREG(now.st_mode)) {
        *why = "cannot read: replaced while being opened";
        return false;
    }
    mode_t perm = now.st_mode & 07777;
    if (perm != 0600 && perm != 0400) {
        *why = "mode " + Octal(perm) + ": a key file must be mode 0600 or 0400 (readable by root alone)";
        return false;
    }
    if (now.st_uid != owner) {
        *why = "owned by uid " + std::to_string(now.st_uid) + ": a key file must be owned by " +
               (owner == 0 ? std::string("root") : "uid " + std::to_string(owner));
        return false;
    }
    // One key and a newline at most; two bytes more are read to tell a
    // near miss ("holds 46 bytes") from a longer file.
    char buf[kWgKeyTextLen + 3];
    size_t used = 0;
    while (used < sizeof(buf)) {
        ssize_t n = read(in.fd, buf + used, sizeof(buf) - used);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) {
            WipeBytes(buf, sizeof(buf));
            *why = std::string("cannot read: ") + std::strerror(errno);
            return false;
        }
        if (n == 0) break;
        used += static_cast<size_t>(n);
    }
    size_t len = used;
    if (len > 0 && buf[len - 1] == '\n') --len;
    bool ok = false;
    if (used == sizeof(buf) || len != kWgKeyTextLen) {
        *why = used == sizeof(buf) ? "longer than one key: expected one base64 key (44 characters) and a newline"
                                   : "holds " + std::to_string(used) +
                                         " bytes: expected one base64 key (44 characters) and a newline";
    } else {
        WgKey k{};
        std::string bad;
        ok = DecodeWgKey(std::string_view(buf, len), &k, &bad);
        if (ok) *key = WgSecret(k);
        else *why = "not a WireGuard key: " + bad;
        WipeBytes(k.data(), k.size());
    }
    WipeBytes(buf, sizeof(buf));
    return ok;
}

void LoadWireguardKeys(Config* cfg, uid_t owner, Diagnostics* diags) {
    std::string why;
    for (InterfaceConfig& ifc : cfg->interfaces) {
        if (!IsWireguard(ifc) || ifc.wireguard->key_file.empty()) continue;
        WireguardInterfaceConfig& wg = *ifc.wireguard;
        WgSecret k;
        if (!ReadWgKeyFile(wg.key_file, owner, &k, &why)) {
            diags->Error(cfg->path, wg.key_line,
                         "interface " + Quote(ifc.role) + ": wireguard-key " + wg.key_file_shown + ": " + why);
            continue;
        }
        wg.private_key = k;
        wg.public_key = WgPublicKey(k);
    }
    for (PeerConfig& p : cfg->peers) {
        if (!p.psk_file.empty()) {
            WgSecret k;
            if (ReadWgKeyFile(p.psk_file, owner, &k, &why)) p.preshared_key = k;
            else
                diags->Error(cfg->path, p.psk_line,
                             "peer " + Quote(p.name) + ": preshared-key-file " + p.psk_file_shown + ": " + why);
        }
        const InterfaceConfig* ifc = cfg->FindRole(p.interface);
        if (p.public_key && ifc && ifc->wireguard && ifc->wireguard->private_key &&
            *p.public_key == ifc->wireguard->public_key)
            diags->Error(cfg->path, p.public_key_line,
                         "peer " + Quote(p.name) + ": public-key is interface " + Quote(ifc->role) +
                             "'s own (the public key of its wireguard-key, line " +
                             Line(ifc->wireguard->key_line) + "); the kernel ignores such a peer");
    }
}

}  // namespace haltfw
