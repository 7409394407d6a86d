#include "config.h"

#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <fstream>
#include <map>
#include <sstream>

#include "gateway.h"
#include "ini.h"

namespace haltfw {
namespace {

std::string Quote(std::string_view s) { return "'" + std::string(s) + "'"; }

bool ParseUint(std::string_view s, uint32_t lo, uint32_t hi, uint32_t* out) {
    uint32_t v = 0;
    auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (ec != std::errc() || p != s.data() + s.size() || v < lo || v > hi) return false;
    *out = v;
    return true;
}

std::vector<std::string_view> Words(std::string_view s) {
    std::vector<std::string_view> out;
    size_t i = 0;
    while (i < s.size()) {
        while (i < s.size() && (s[i] == ' ' || s[i] == '\t')) ++i;
        size_t b = i;
        while (i < s.size() && s[i] != ' ' && s[i] != '\t') ++i;
        if (i > b) out.push_back(s.substr(b, i - b));
    }
    return out;
}

bool IsName(std::string_view s, std::string_view extra) {
    if (s.empty()) return false;
    for (char c : s) {
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                  extra.find(c) != std::string_view::npos;
        if (!ok) return false;
    }
    return true;
}

// Kernel interface names: at most IFNAMSIZ-1 bytes, no '/', ':' or white
// space, and not "." or "..".
bool IsDeviceName(std::string_view s) {
    return s.size() < 16 && IsName(s, "-_.@+") && s != "." && s != "..";
}

std::string Dirname(const std::string& path) {
    size_t slash = path.rfind('/');
    if (slash == std::string::npos) return ".";
    return slash == 0 ? "/" : path.substr(0, slash);
}

// Parses one section's entries. Keeps the file path and diagnostics so each
// handler can report with the entry's line.
class Parser {
public:
    Parser(const std::string& path, Diagnostics* diags) : path_(path), diags_(diags) {}

    Config Run(const IniFile& ini);

private:
    void Error(int line, std::string msg) { diags_->Error(path_, line, std::move(msg)); }

    // A key that may be given once per section: reports a repeat and returns
    // false for it.
    bool Once(const IniEntry& e, std::map<std::string, int>* seen);

    void Ruleset(const IniEntry& e);
    void Interface(InterfaceConfig* ifc, const IniEntry& e, std::map<std::string, int>* seen);
    void Route(InterfaceConfig* ifc, const IniEntry& e);
    void Sysctl(const IniEntry& e);
    void Halt(const IniEntry& e, std::map<std::string, int>* seen);
    void Gateway(const IniEntry& e, std::map<std::string, int>* seen);
    void YesNo(const IniEntry& e, bool* value, int* line);
    void Forward(const IniEntry& e);
    void Block(const IniEntry& e);

    void CheckInterface(const InterfaceConfig& ifc);
    void CheckAcrossInterfaces();
    void AddInterfaceSysctls();
    const InterfaceConfig* GatewaySide(const char* key, const std::string& role, int line);
    void CheckGateway();
    void CheckForward(const ForwardSpec& f, const InterfaceConfig& lan, const InterfaceConfig& wan);

    const std::string& path_;
    Diagnostics* diags_;
    Config cfg_;
};

bool Parser::Once(const IniEntry& e, std::map<std::string, int>* seen) {
    auto [it, fresh] = seen->emplace(e.key, e.line);
    if (!fresh) Error(e.line, Quote(e.key) + " given twice (first on line " + std::to_string(it->second) + ")");
    return fresh;
}

void Parser::Ruleset(const IniEntry& e) {
    if (e.key != "file") {
        Error(e.line, "unknown key " + Quote(e.key) + " in [ruleset]");
        return;
    }
    if (e.value.empty()) {
        Error(e.line, "[ruleset] file: empty path");
        return;
    }
    if (e.value.find('"') != std::string::npos) {
        Error(e.line, "[ruleset] file " + Quote(e.value) + ": a path may not contain '\"'");
        return;
    }
    std::string p = e.value[0] == '/' ? e.value : Dirname(path_) + "/" + e.value;
    cfg_.rule_files.push_back({p, e.line});
}

void Parser::Interface(InterfaceConfig* ifc, const IniEntry& e, std::map<std::string, int>* seen) {
    const std::string where = "interface " + Quote(ifc->role) + ": ";
    std::string err;
    if (e.key == "device") {
        if (!Once(e, seen)) return;
        if (!IsDeviceName(e.value)) Error(e.line, where + "device " + Quote(e.value) + ": not a valid interface name");
        ifc->device = e.value;
    } else if (e.key == "mac") {
        if (!Once(e, seen)) return;
        auto mac = ParseMac(e.value, &err);
        if (!mac) Error(e.line, where + "mac " + Quote(e.value) + ": " + err);
        ifc->mac = mac;
    } else if (e.key == "address") {
        auto p = ParsePrefix(e.value, true, &err);
        if (!p) Error(e.line, where + "address " + Quote(e.value) + ": " + err);
        else ifc->addresses.push_back({*p, e.line});
    } else if (e.key == "gateway" || e.key == "gateway6") {
        if (!Once(e, seen)) return;
        int want = e.key == "gateway" ? AF_INET : AF_INET6;
        auto a = ParseIpAddr(e.value, &err);
        if (!a) Error(e.line, where + e.key + " " + Quote(e.value) + ": " + err);
        else if (a->family != want)
            Error(e.line, where + e.key + " " + Quote(e.value) + ": not an " + FamilyName(want) + " address" +
                              (want == AF_INET ? " (use gateway6 for IPv6)" : " (use gateway for IPv4)"));
        else (want == AF_INET ? ifc->gateway : ifc->gateway6) = AddressSpec{{*a, a->bits()}, e.line};
    } else if (e.key == "route") {
        Route(ifc, e);
    } else if (e.key == "mtu") {
        if (!Once(e, seen)) return;
        uint32_t mtu = 0;
        if (!ParseUint(e.value, 68, 65535, &mtu)) Error(e.line, where + "mtu " + Quote(e.value) + ": not a number from 68 to 65535");
        else ifc->mtu = mtu, ifc->mtu_line = e.line;
    } else {
        Error(e.line, "unknown key " + Quote(e.key) + " in [interface." + ifc->role + "]");
    }
}

// route = DST [via GW] [metric N]
void Parser::Route(InterfaceConfig* ifc, const IniEntry& e) {
    const std::string where = "interface " + Quote(ifc->role) + ": route " + Quote(e.value) + ": ";
    std::vector<std::string_view> w = Words(e.value);
    std::string err;
    RouteSpec r;
    r.text = e.value;
    r.line = e.line;
    if (w.empty()) {
        Error(e.line, where + "missing destination");
        return;
    }
    auto dst = ParsePrefix(w[0], false, &err);
    if (!dst) {
        Error(e.line, where + "destination: " + err);
        return;
    }
    if (dst->network() != *dst) {
        Error(e.line, where + "destination has host bits set (did you mean " + FormatPrefix(dst->network()) + "?)");
        return;
    }
    r.dst = *dst;
    for (size_t i = 1; i < w.size(); i += 2) {
        if (i + 1 >= w.size()) {
            Error(e.line, where + Quote(w[i]) + " needs a value");
            return;
        }
        if (w[i] == "via") {
            auto gw = ParseIpAddr(w[i + 1], &err);
            if (!gw) return Error(e.line, where + "via: " + err);
            if (gw->family != dst->addr.family) return Error(e.line, where + "via is " + FamilyName(gw->family) + " but the destination is " + FamilyName(dst->addr.family));
            r.via = gw;
        } else if (w[i] == "metric") {
            if (!ParseUint(w[i + 1], 0, UINT32_MAX, &r.metric)) return Error(e.line, where + "metric: not a number");
        } else {
            return Error(e.line, where + "unknown word " + Quote(w[i]) + " (expected 'via' or 'metric')");
        }
    }
    ifc->routes.push_back(r);
}

void Parser::Sysctl(const IniEntry& e) {
    if (e.key.rfind("net.", 0) != 0 || !IsName(e.key, "._-/")) {
        Error(e.line, "sysctl " + Quote(e.key) + ": only keys under net.* can be set");
        return;
    }
    if (e.key.find("..") != std::string::npos || e.key.back() == '.') {
        Error(e.line, "sysctl " + Quote(e.key) + ": malformed key");
        return;
    }
    if (e.value.empty() || e.value.find_first_of("\n\r") != std::string::npos) {
        Error(e.line, "sysctl " + Quote(e.key) + ": empty value");
        return;
    }
    for (SysctlSetting& s : cfg_.sysctls) {
        if (s.key != e.key) continue;
        if (s.line > 0) {
            Error(e.line, "sysctl " + Quote(e.key) + " given twice (first on line " + std::to_string(s.line) + ")");
            return;
        }
        s = {e.key, e.value, e.line};  // overrides a built-in default, in place
        return;
    }
    cfg_.sysctls.push_back({e.key, e.value, e.line});
}

void Parser::Halt(const IniEntry& e, std::map<std::string, int>* seen) {
    if (e.key == "modules") {
        for (std::string_view m : Words(e.value)) {
            if (!IsName(m, "_-")) Error(e.line, "[halt] modules: " + Quote(m) + " is not a module name");
            else cfg_.halt.modules.emplace_back(m);
        }
    } else if (e.key == "ctrl-alt-del") {
        if (!Once(e, seen)) return;
        if (e.value == "ignore") cfg_.halt.ctrl_alt_del = CtrlAltDel::kIgnore;
        else if (e.value == "reboot") cfg_.halt.ctrl_alt_del = CtrlAltDel::kReboot;
        else if (e.value == "poweroff") cfg_.halt.ctrl_alt_del = CtrlAltDel::kPoweroff;
        else Error(e.line, "[halt] ctrl-alt-del " + Quote(e.value) + ": expected ignore, reboot or poweroff");
    } else if (e.key == "sysrq") {
        if (!Once(e, seen)) return;
        uint32_t v = 0;
        if (!ParseUint(e.value, 0, 511, &v)) Error(e.line, "[halt] sysrq " + Quote(e.value) + ": not a number from 0 to 511");
        cfg_.halt.sysrq = static_cast<int>(v);
    } else {
        Error(e.line, "unknown key " + Quote(e.key) + " in [halt]");
    }
}

// [gateway]: the keys, checked one by one here; against the interfaces
// (which may come later in the file) in CheckGateway.
void Parser::Gateway(const IniEntry& e, std::map<std::string, int>* seen) {
    GatewayConfig& gw = *cfg_.gateway;
    if (e.key == "lan" || e.key == "wan") {
        if (!Once(e, seen)) return;
        (e.key == "lan" ? gw.lan : gw.wan) = e.value;
        (e.key == "lan" ? gw.lan_line : gw.wan_line) = e.line;
        if (e.value.empty()) Error(e.line, "[gateway] " + e.key + ": empty role name");
    } else if (e.key == "masquerade") {
        if (Once(e, seen)) YesNo(e, &gw.masquerade, &gw.masquerade_line);
    } else if (e.key == "icmp") {
        if (Once(e, seen)) YesNo(e, &gw.icmp, &gw.icmp_line);
    } else if (e.key == "log-drops") {
        if (Once(e, seen)) YesNo(e, &gw.log_drops, &gw.log_drops_line);
    } else if (e.key == "forward") {
        Forward(e);
    } else if (e.key == "block") {
        Block(e);
    } else {
        Error(e.line, "unknown key " + Quote(e.key) + " in [gateway]");
    }
}

void Parser::YesNo(const IniEntry& e, bool* value, int* line) {
    if (e.value != "yes" && e.value != "no") {
        Error(e.line, "[gateway] " + e.key + " " + Quote(e.value) + ": expected yes or no");
        return;
    }
    *value = e.value == "yes";
    *line = e.line;
}

bool ParsePort(std::string_view s, uint16_t* port) {
    uint32_t v = 0;
    if (!ParseUint(s, 1, 65535, &v)) return false;
    *port = static_cast<uint16_t>(v);
    return true;
}

// forward = PROTO PORT[-PORT] LANHOST [PORT]
void Parser::Forward(const IniEntry& e) {
    const std::string where = "[gateway] forward " + Quote(e.value) + ": ";
    std::vector<std::string_view> w = Words(e.value);
    if (w.size() < 3 || w.size() > 4) return Error(e.line, where + "expected 'PROTO PORT[-PORT] LANHOST [PORT]'");
    ForwardSpec f;
    f.text = e.value;
    f.line = e.line;
    if (w[0] != "tcp" && w[0] != "udp") return Error(e.line, where + "protocol " + Quote(w[0]) + ": expected tcp or udp");
    f.proto = w[0];
    size_t dash = w[1].find('-');
    if (dash == std::string_view::npos) {
        if (!ParsePort(w[1], &f.first)) return Error(e.line, where + "WAN port " + Quote(w[1]) + ": not a port number (1 to 65535)");
        f.last = f.first;
    } else if (!ParsePort(w[1].substr(0, dash), &f.first) || !ParsePort(w[1].substr(dash + 1), &f.last)) {
        return Error(e.line, where + "WAN ports " + Quote(w[1]) + ": expected FIRST-LAST, port numbers from 1 to 65535");
    } else if (f.first >= f.last) {
        return Error(e.line, where + "WAN ports " + Quote(w[1]) + ": the first port must be below the last");
    }
    std::string err;
    auto host = ParseIpAddr(w[2], &err);
    if (!host) return Error(e.line, where + "LAN host " + Quote(w[2]) + ": " + err);
    f.host = *host;
    if (w.size() == 4) {
        if (!ParsePort(w[3], &f.to_port)) return Error(e.line, where + "LAN port " + Quote(w[3]) + ": not a port number (1 to 65535)");
        // nft maps a range onto a range only as a pool, not port for port.
        if (f.first != f.last) return Error(e.line, where + "a WAN port range keeps its ports on the LAN host: give no LAN port");
        if (f.host.family == AF_INET6 && f.to_port != f.first)
            return Error(e.line, where + "IPv6 is forwarded untranslated: the LAN port must be the WAN port (or left out)");
        if (f.host.family == AF_INET6) f.to_port = 0;
    }
    // Two DNATs for one WAN port: the first would win without a word.
    for (const ForwardSpec& o : cfg_.gateway->forwards) {
        bool same_target = f.host.family == AF_INET ? o.host.family == AF_INET : o.host == f.host;
        if (o.proto == f.proto && same_target && o.first <= f.last && f.first <= o.last)
            return Error(e.line, where + f.proto + " port " + std::string(w[1]) + " is already forwarded (line " + std::to_string(o.line) + ")");
    }
    cfg_.gateway->forwards.push_back(f);
}

// block = NAME ...
void Parser::Block(const IniEntry& e) {
    std::vector<std::string_view> names = Words(e.value);
    if (names.empty()) Error(e.line, "[gateway] block: no service group named (known: " + ServiceGroupNames() + ")");
    for (std::string_view n : names) {
        if (!FindServiceGroup(n)) {
            Error(e.line, "[gateway] block " + Quote(n) + ": unknown service group (known: " + ServiceGroupNames() + ")");
            continue;
        }
        auto& blocks = cfg_.gateway->blocks;
        auto it = std::find_if(blocks.begin(), blocks.end(), [&](const BlockSpec& b) { return b.name == n; });
        if (it != blocks.end()) {
            Error(e.line, "[gateway] block " + Quote(n) + " given twice (first on line " + std::to_string(it->line) + ")");
            continue;
        }
        blocks.push_back({std::string(n), e.line});
    }
}

// The interface named by `lan =` or `wan =`, or nullptr (reported).
const InterfaceConfig* Parser::GatewaySide(const char* key, const std::string& role, int line) {
    const GatewayConfig& gw = *cfg_.gateway;
    const std::string what = std::string("[gateway] ") + key + " " + Quote(role) + ": ";
    if (line == 0) {
        Error(gw.line, std::string("[gateway]: no '") + key + " =' (the role of the " + (key[0] == 'l' ? "LAN" : "WAN") +
                           "'s [interface.ROLE] section)");
        return nullptr;
    }
    if (role.empty()) return nullptr;  // reported with the key
    const InterfaceConfig* ifc = cfg_.FindRole(role);
    if (!ifc) {
        Error(line, what + "no section [interface." + role + "]");
        return nullptr;
    }
    // The rules match interfaces by name (iifname); a MAC-chosen interface
    // has a name only once apply has found it, and the profile's text must
    // not depend on the machine it is shown on.
    if (ifc->mac) {
        Error(line, what + "interface " + Quote(role) + " is chosen by 'mac'; the profile's rules match interface names: give it 'device ='");
        return nullptr;
    }
    return ifc;
}

void Parser::CheckForward(const ForwardSpec& f, const InterfaceConfig& lan, const InterfaceConfig& wan) {
    const std::string where = "[gateway] forward " + Quote(f.text) + ": ";
    if (f.host.family == AF_INET) {
        bool wan4 = false;
        for (const AddressSpec& a : wan.addresses) wan4 |= a.prefix.addr.family == AF_INET;
        if (!wan4) Error(f.line, where + "interface " + Quote(wan.role) + " has no IPv4 address to forward from");
    }
    for (const AddressSpec& a : lan.addresses) {
        if (a.prefix.addr == f.host) {
            Error(f.line, where + "LAN host " + Quote(FormatIp(f.host)) + " is the box's own address; the box runs no services once halted");
            return;
        }
    }
    std::vector<Prefix> prefixes = LanPrefixes(lan);
    bool inside = false;
    std::string list;
    for (const Prefix& p : prefixes) {
        inside |= p.contains(f.host);
        list += (list.empty() ? "" : ", ") + FormatPrefix(p);
    }
    if (!inside) Error(f.line, where + "LAN host " + Quote(FormatIp(f.host)) + " is outside the LAN's prefixes (" + list + ")");
}

void Parser::CheckGateway() {
    if (!cfg_.gateway) return;
    const GatewayConfig& gw = *cfg_.gateway;
    const InterfaceConfig* lan = GatewaySide("lan", gw.lan, gw.lan_line);
    const InterfaceConfig* wan = GatewaySide("wan", gw.wan, gw.wan_line);
    if (lan && lan == wan) {
        Error(gw.wan_line, "[gateway] wan " + Quote(gw.wan) + ": the same interface as lan (line " + std::to_string(gw.lan_line) +
                               "); the two sides need two interfaces");
        return;
    }
    if (lan) {
        const std::string what = "[gateway] lan " + Quote(gw.lan) + ": interface " + Quote(lan->role);
        if (lan->addresses.empty()) Error(gw.lan_line, what + " has no address; the profile needs the LAN's prefixes");
        for (const auto* g : {&lan->gateway, &lan->gateway6})
            if (*g) Error(gw.lan_line, what + " has the default route ('" + (g == &lan->gateway ? "gateway" : "gateway6") + "' on line " +
                                           std::to_string((*g)->line) + "); the profile sends the LAN to the WAN");
        for (const RouteSpec& r : lan->routes)
            if (r.dst.len == 0) Error(gw.lan_line, what + " has the default route ('route' on line " + std::to_string(r.line) +
                                                       "); the profile sends the LAN to the WAN");
    }
    if (!lan || !wan || lan->addresses.empty()) return;
    for (const ForwardSpec& f : gw.forwards) CheckForward(f, *lan, *wan);
    bool lan4 = false, wan4 = false;
    for (const AddressSpec& a : lan->addresses) lan4 |= a.prefix.addr.family == AF_INET;
    for (const AddressSpec& a : wan->addresses) wan4 |= a.prefix.addr.family == AF_INET;
    if (gw.masquerade && lan4 && !wan4)
        Error(gw.masquerade_line ? gw.masquerade_line : gw.line,
              "[gateway] masquerade: interface " + Quote(wan->role) + " has no IPv4 address to masquerade to (give it one, or 'masquerade = no')");
}

// A gateway forwards: unless the file says otherwise, [gateway] turns
// forwarding on (after every other sysctl).
void AddGatewaySysctls(std::vector<SysctlSetting>* sysctls) {
    for (const char* key : {"net.ipv4.ip_forward", "net.ipv6.conf.all.forwarding"}) {
        bool set = std::any_of(sysctls->begin(), sysctls->end(), [&](const SysctlSetting& s) { return s.key == key; });
        if (!set) sysctls->push_back({key, "1", 0});
    }
}

void Parser::CheckInterface(const InterfaceConfig& ifc) {
    const std::string where = "interface " + Quote(ifc.role) + ": ";
    if (ifc.device.empty() && !ifc.mac) Error(ifc.line, where + "needs 'device' or 'mac'");
    if (!ifc.device.empty() && ifc.mac) Error(ifc.line, where + "give 'device' or 'mac', not both");

    for (size_t i = 0; i < ifc.addresses.size(); ++i)
        for (size_t j = 0; j < i; ++j)
            if (ifc.addresses[i].prefix.addr == ifc.addresses[j].prefix.addr)
                Error(ifc.addresses[i].line, where + "address " + Quote(FormatPrefix(ifc.addresses[i].prefix)) +
                                                 " given twice (first on line " + std::to_string(ifc.addresses[j].line) + ")");

    // A next hop must be reachable through a prefix this interface holds,
    // or the kernel refuses the route (and a halted box cannot fix it).
    auto on_link = [&](const IpAddr& gw) {
        for (const AddressSpec& a : ifc.addresses)
            if (a.prefix.contains(gw)) return true;
        return false;
    };
    for (const auto* gw : {&ifc.gateway, &ifc.gateway6}) {
        if (*gw && !on_link((*gw)->prefix.addr))
            Error((*gw)->line, where + (gw == &ifc.gateway ? "gateway " : "gateway6 ") + Quote(FormatIp((*gw)->prefix.addr)) +
                                   " is outside every prefix configured on " + Quote(ifc.role));
    }
    for (const RouteSpec& r : ifc.routes) {
        if (r.via && !on_link(*r.via))
            Error(r.line, where + "route " + Quote(r.text) + ": via " + Quote(FormatIp(*r.via)) +
                              " is outside every prefix configured on " + Quote(ifc.role));
    }
}

void Parser::CheckAcrossInterfaces() {
    const auto& ifs = cfg_.interfaces;
    for (size_t i = 0; i < ifs.size(); ++i) {
        for (size_t j = 0; j < i; ++j) {
            const InterfaceConfig& a = ifs[i];
            const InterfaceConfig& b = ifs[j];
            if (!a.device.empty() && a.device == b.device)
                Error(a.line, "interface " + Quote(a.role) + ": device " + Quote(a.device) + " is already used by interface " +
                                  Quote(b.role) + " (line " + std::to_string(b.line) + ")");
            if (a.mac && b.mac && *a.mac == *b.mac)
                Error(a.line, "interface " + Quote(a.role) + ": mac " + Quote(FormatMac(*a.mac)) + " is already used by interface " +
                                  Quote(b.role) + " (line " + std::to_string(b.line) + ")");
            for (const AddressSpec& x : a.addresses)
                for (const AddressSpec& y : b.addresses)
                    if (x.prefix.overlaps(y.prefix))
                        Error(x.line, "interface " + Quote(a.role) + ": address " + Quote(FormatPrefix(x.prefix)) + " overlaps " +
                                          Quote(FormatPrefix(y.prefix)) + " of interface " + Quote(b.role) + " (line " +
                                          std::to_string(y.line) + ")");
        }
    }
}

// "all" does not reach links that already exist for accept_ra and
// autoconf, so each configured device gets them too, unless [sysctl] sets
// them. (An interface chosen by MAC has no name yet: it keeps the kernel's
// own setting.)
void Parser::AddInterfaceSysctls() {
    for (const InterfaceConfig& ifc : cfg_.interfaces) {
        if (ifc.device.empty()) continue;
        std::string dev;
        for (char c : ifc.device) dev += c == '.' ? '/' : c;  // sysctl(8)'s escape for a dot in a name
        for (const char* leaf : {"accept_ra", "autoconf"}) {
            std::string key = "net.ipv6.conf." + dev + "." + leaf;
            bool set = std::any_of(cfg_.sysctls.begin(), cfg_.sysctls.end(), [&](const SysctlSetting& x) { return x.key == key; });
            if (!set) cfg_.sysctls.push_back({key, "0", 0});
        }
    }
}

Config Parser::Run(const IniFile& ini) {
    cfg_.path = path_;
    cfg_.sysctls = DefaultSysctls();

    // Per-section state for "given twice" checks; interface sections are
    // created when their header is seen so that an empty one is still checked.
    std::map<std::string, std::map<std::string, int>> seen;
    std::map<std::string, size_t> iface_index;
    std::map<std::string, int> section_line;
    for (const IniSection& s : ini.sections) {
        if (s.name.rfind("interface.", 0) == 0) {
            std::string role = s.name.substr(10);
            if (!IsName(role, "_-")) {
                Error(s.line, "section [" + s.name + "]: role name " + Quote(role) + " may hold only letters, digits, '-' and '_'");
                continue;
            }
            if (iface_index.count(role)) {
                Error(s.line, "section [" + s.name + "] given twice (first on line " + std::to_string(section_line[s.name]) + ")");
                continue;
            }
            iface_index[role] = cfg_.interfaces.size();
            InterfaceConfig ifc;
            ifc.role = role;
            ifc.line = s.line;
            cfg_.interfaces.push_back(ifc);
        } else if (s.name == "gateway") {
            if (!cfg_.gateway) cfg_.gateway = GatewayConfig{.line = s.line};
        } else if (s.name != "ruleset" && s.name != "sysctl" && s.name != "halt" && !s.name.empty()) {
            Error(s.line, "unknown section [" + s.name + "]");
        }
        section_line.emplace(s.name, s.line);
    }

    for (const IniEntry& e : ini.entries) {
        if (e.section.empty()) Error(e.line, Quote(e.key) + " outside any section");
        else if (e.section == "ruleset") Ruleset(e);
        else if (e.section == "sysctl") Sysctl(e);
        else if (e.section == "halt") Halt(e, &seen[e.section]);
        else if (e.section == "gateway") Gateway(e, &seen[e.section]);
        else if (e.section.rfind("interface.", 0) == 0) {
            auto it = iface_index.find(e.section.substr(10));
            if (it != iface_index.end()) Interface(&cfg_.interfaces[it->second], e, &seen[e.section]);
        }
        // Entries of an unknown section were reported with the section.
    }

    for (const InterfaceConfig& ifc : cfg_.interfaces) CheckInterface(ifc);
    CheckAcrossInterfaces();
    AddInterfaceSysctls();
    CheckGateway();
    if (cfg_.gateway) AddGatewaySysctls(&cfg_.sysctls);
    if (cfg_.rule_files.empty() && !cfg_.gateway)
        diags_->Error(path_, 0, "no ruleset: add '[gateway]', or '[ruleset]' with at least one 'file ='");
    return cfg_;
}

}  // namespace

std::string InterfaceConfig::Describe() const {
    std::string s = "'" + role + "'";
    if (!device.empty()) s += " (" + device + ")";
    else if (mac) s += " (mac " + FormatMac(*mac) + ")";
    return s;
}

const InterfaceConfig* Config::FindRole(std::string_view role) const {
    for (const InterfaceConfig& i : interfaces)
        if (i.role == role) return &i;
    return nullptr;
}

const std::vector<SysctlSetting>& DefaultSysctls() {
    // Router hardening every haltfw box gets unless haltfw.conf overrides a
    // key. "default" as well as "all", so that links created later inherit.
    static const std::vector<SysctlSetting> defaults = {
        {"net.ipv4.conf.all.rp_filter", "1", 0},
        {"net.ipv4.conf.default.rp_filter", "1", 0},
        {"net.ipv4.tcp_syncookies", "1", 0},
        {"net.ipv4.conf.all.accept_redirects", "0", 0},
        {"net.ipv4.conf.default.accept_redirects", "0", 0},
        {"net.ipv6.conf.all.accept_redirects", "0", 0},
        {"net.ipv6.conf.default.accept_redirects", "0", 0},
        {"net.ipv4.conf.all.accept_source_route", "0", 0},
        {"net.ipv4.conf.default.accept_source_route", "0", 0},
        {"net.ipv6.conf.all.accept_source_route", "0", 0},
        {"net.ipv6.conf.default.accept_source_route", "0", 0},
        {"net.ipv4.conf.all.log_martians", "1", 0},
        {"net.ipv4.conf.default.log_martians", "1", 0},
        // The kernel itself acts on router advertisements (SLAAC addresses,
        // default routes) and sends router solicitations: once halted a
        // rogue RA could still add an address or a route. Off for every
        // family of link; the configured devices get their own below.
        {"net.ipv6.conf.all.accept_ra", "0", 0},
        {"net.ipv6.conf.default.accept_ra", "0", 0},
        {"net.ipv6.conf.all.autoconf", "0", 0},
        {"net.ipv6.conf.default.autoconf", "0", 0},
    };
    return defaults;
}

Config ParseConfig(std::string_view text, const std::string& path, Diagnostics* diags) {
    IniFile ini = ParseIni(text, path, diags);
    return Parser(path, diags).Run(ini);
}

Config LoadConfig(const std::string& path, Diagnostics* diags) {
    std::ifstream in(path);
    if (!in) {
        diags->Error(path, 0, std::string("cannot read: ") + std::strerror(errno));
        return Config{};
    }
    std::stringstream ss;
    ss << in.rdbuf();
    Config cfg = ParseConfig(ss.str(), path, diags);
    for (const RuleFile& f : cfg.rule_files) {
        if (access(f.path.c_str(), R_OK) != 0)
            diags->Error(path, f.line, "[ruleset] file " + Quote(f.path) + ": cannot read: " + std::strerror(errno));
    }
    return cfg;
}

std::string DescribeRulesetSources(const Config& cfg) {
    size_t n = cfg.rule_files.size();
    std::string files = std::to_string(n) + " rules file" + (n == 1 ? "" : "s");
    if (!cfg.gateway) return files;
    return n == 0 ? "the gateway profile" : "the gateway profile and " + files;
}

const char* CtrlAltDelName(CtrlAltDel c) {
    switch (c) {
        case CtrlAltDel::kIgnore: return "ignore";
        case CtrlAltDel::kReboot: return "reboot";
        case CtrlAltDel::kPoweroff: return "poweroff";
    }
    return "?";
}

}  // namespace haltfw
