#include "core/config.h"

#include <fcntl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstdint>
#include <cstring>
#include <map>
#include <set>
#include <unordered_map>
#include <utility>

#include "base/file_kind.h"
#include "base/text_encoding.h"
#include "core/bridge_filter.h"
#include "core/gateway.h"
#include "core/ini.h"
#include "core/nft_includes.h"
#include "core/topology.h"
#include "net/sysctl.h"

namespace haltfw {
namespace {

// Quoted, unless it could be a WireGuard key: a key pasted in the wrong
// place or on a line of its own is never printed (wireguard_config.h).
std::string Quote(std::string_view s) { return QuoteUnlessKey(s); }

bool ParseUint(std::string_view s, uint32_t lo, uint32_t hi, uint32_t* out) {
    uint32_t v = 0;
    auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (ec != std::errc() || p != s.data() + s.size() || v < lo || v > hi) return false;
    *out = v;
    return true;
}

// "30s", "5m", "1h", or a bare number of seconds, into seconds within
// [lo, hi].
bool ParseDurationSeconds(std::string_view s, uint32_t lo, uint32_t hi, uint32_t* out) {
    uint32_t unit = 1;
    if (!s.empty() && (s.back() == 's' || s.back() == 'm' || s.back() == 'h')) {
        unit = s.back() == 's' ? 1 : s.back() == 'm' ? 60 : 3600;
        s.remove_suffix(1);
    }
    uint32_t n = 0;
    if (!ParseUint(s, 0, hi, &n) || uint64_t{n} * unit < lo || uint64_t{n} * unit > hi) return false;
    *out = n * unit;
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

std::string Join(const std::vector<std::string>& v, const char* sep) {
    std::string s;
    for (size_t i = 0; i < v.size(); ++i) s += (i ? sep : "") + v[i];
    return s;
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

// Why `s` cannot name a device here, or empty. The halted report names
// devices (a bridge's ports, what was repaired), and a report line that
// says "failed" is read as a failure.
std::string DeviceNameProblem(std::string_view s) {
    if (!IsDeviceName(s)) return "not a valid interface name";
    if (s.find("failed") != std::string_view::npos || s.find("FAILED") != std::string_view::npos)
        return "a name with 'failed' in it would make the halted box's report read as a failure; rename the device";
    return "";
}

std::string Dirname(const std::string& path) {
    size_t slash = path.rfind('/');
    if (slash == std::string::npos) return ".";
    return slash == 0 ? "/" : path.substr(0, slash);
}

// Answers "does any prefix of the set hold this address?" in
// O(lengths x log n): one lookup per distinct prefix length (at most 33 for
// IPv4, 129 for IPv6), so checking every next hop of an interface with
// 100,000 addresses stays n log n.
class PrefixIndex {
public:
    void Add(const Prefix& p) {
        networks_.insert(p.network());
        lengths_.insert({p.addr.family, p.len});
    }
    bool Contains(const IpAddr& a) const {
        for (auto [family, len] : lengths_)
            if (family == a.family && networks_.count(Prefix{a, len}.network())) return true;
        return false;
    }

private:
    std::set<Prefix> networks_;
    std::set<std::pair<int, int>> lengths_;
};

// An address of the config: interfaces[iface].addresses[index].
struct AddressRef {
    size_t iface = 0;
    size_t index = 0;
};

// For every address, in interface order, the first address of an earlier
// interface that overlaps it, if any: what a check of every pair of
// interfaces would report first, in O(n log n). CIDR prefixes either nest or
// are apart, so sorted by (network, length) they form a forest in which two
// prefixes overlap exactly when one is an ancestor of the other; the first
// overlapping address is then the smallest ordinal among a prefix's
// ancestors and descendants.
std::vector<std::optional<AddressRef>> EarlierOverlaps(const std::vector<InterfaceConfig>& ifs) {
    std::vector<AddressRef> refs;  // by ordinal: interface order, then address order
    std::vector<Prefix> nets;
    for (size_t i = 0; i < ifs.size(); ++i)
        for (size_t k = 0; k < ifs[i].addresses.size(); ++k) {
            refs.push_back({i, k});
            nets.push_back(ifs[i].addresses[k].prefix.network());
        }
    const size_t n = refs.size(), none = SIZE_MAX;
    std::vector<size_t> order(n);
    for (size_t k = 0; k < n; ++k) order[k] = k;
    std::sort(order.begin(), order.end(),
              [&](size_t a, size_t b) { return std::pair(nets[a], a) < std::pair(nets[b], b); });

    // parent[] by a sweep with the chain of enclosing prefixes; then the
    // smallest ordinal above each node (forwards) and below it (backwards).
    std::vector<size_t> parent(n, none), above(n, none), below(n, none);
    std::vector<size_t> chain;
    for (size_t o : order) {
        while (!chain.empty() && !nets[chain.back()].contains(nets[o].addr)) chain.pop_back();
        if (!chain.empty()) {
            parent[o] = chain.back();
            above[o] = std::min(above[parent[o]], parent[o]);
        }
        chain.push_back(o);
    }
    for (auto it = order.rbegin(); it != order.rend(); ++it)
        if (parent[*it] != none) below[parent[*it]] = std::min({below[parent[*it]], below[*it], *it});

    std::vector<std::optional<AddressRef>> out(n);
    for (size_t k = 0; k < n; ++k) {
        size_t first = std::min(above[k], below[k]);
        if (first != none && refs[first].iface < refs[k].iface) out[k] = refs[first];
    }
    return out;
}

// The metric the kernel stores: IPv6 turns 0 into 1024 (see WantedRoutes in
// plan.h, which asks for the same).
uint32_t KernelMetric(int family, uint32_t metric) { return family == AF_INET6 && metric == 0 ? 1024 : metric; }

// A route an interface asks for, for the check that no two share the key
// the kernel replaces on (destination and metric).
struct RouteRef {
    const InterfaceConfig* ifc = nullptr;
    std::string what;   // "gateway '198.51.100.254'", "route '0.0.0.0/0 metric 10'"
    int line = 0;
    Prefix dst;
    uint32_t metric = 0;
};

std::vector<RouteRef> ConfigRoutes(const InterfaceConfig& ifc) {
    std::vector<RouteRef> out;
    for (const auto* gw : {&ifc.gateway, &ifc.gateway6}) {
        if (!*gw) continue;
        int family = (*gw)->prefix.addr.family;
        out.push_back({&ifc, (gw == &ifc.gateway ? "gateway " : "gateway6 ") + QuoteValue(FormatIp((*gw)->prefix.addr)),
                       (*gw)->line, Prefix{IpAddr{family, {}}, 0}, KernelMetric(family, 0)});
    }
    for (const RouteSpec& r : ifc.routes)
        out.push_back({&ifc, "route " + QuoteValue(r.text), r.line, r.dst, KernelMetric(r.dst.addr.family, r.metric)});
    return out;
}

// The keys of one section that may be given once, with their lines: at
// most the handful of such keys a section has, so a flat list (100,000
// sections each with a map cost more than the rest of the validation).
using SeenKeys = std::vector<std::pair<std::string, int>>;

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
    bool Once(const IniEntry& e, SeenKeys* seen);

    void Ruleset(const IniEntry& e);
    void Interface(InterfaceConfig* ifc, const IniEntry& e, SeenKeys* seen);
    void Route(InterfaceConfig* ifc, const IniEntry& e);
    // The keys that make haltfw create the device (topology.h): one per
    // interface. False (reported) for a second one.
    bool ClaimKind(InterfaceConfig* ifc, const IniEntry& e);
    void Bridge(InterfaceConfig* ifc, const IniEntry& e);
    void Vlan(InterfaceConfig* ifc, const IniEntry& e);
    void AddSilentBridgeSysctls();
    void Sysctl(const IniEntry& e);
    void Halt(const IniEntry& e, SeenKeys* seen);
    void Gateway(const IniEntry& e, SeenKeys* seen);
    void YesNo(const IniEntry& e, bool* value, int* line);
    void Forward(const IniEntry& e);
    // A forward's ports, unless another forward of the same key holds one of
    // them (reported with both lines).
    bool ClaimForwardPorts(std::map<uint16_t, std::pair<uint16_t, int>>* ranges, const ForwardSpec& f,
                           const std::string& where, std::string_view ports);
    void Block(const IniEntry& e);
    void BridgeFilter(const IniEntry& e, SeenKeys* seen);
    void BridgeFilterPorts(const IniEntry& e, std::vector<std::string>* ports, int* line);
    void BridgeFilterForward(const IniEntry& e);

    void CheckInterface(const InterfaceConfig& ifc);
    void CheckAcrossInterfaces();
    void CheckRoutes();
    void CheckDefaultRoutes(const std::vector<const RouteRef*>& defaults);
    // Adds a built-in setting unless the file set the key.
    void AddSysctlDefault(const std::string& key, const std::string& value);
    void AddInterfaceSysctls();
    void AddPanicSysctls();
    void Netconsole(const IniEntry& e);
    void CheckNetconsole();
    void AddGatewaySysctls();
    const InterfaceConfig* GatewaySide(const char* key, const std::string& role, int line);
    void CheckGateway();
    void CheckBridgeFilter();
    const InterfaceConfig* BridgeFilterBridge();
    bool CheckLanSide(const InterfaceConfig& lan, const char* key, int line);
    void WarnPeersOutside(const InterfaceConfig& vpn);
    const InterfaceConfig* CheckVpnSide(const std::string& role, const std::vector<const InterfaceConfig*>& vpns);
    void CheckForward(const ForwardSpec& f, const std::vector<const InterfaceConfig*>& lans,
                      const InterfaceConfig& wan, const PrefixIndex& lan_prefixes,
                      const std::set<IpAddr>& lan_addresses, std::string* lan_list);

    const std::string& path_;
    Diagnostics* diags_;
    Config cfg_;
    // Indexes that keep validation n log n (100,000 sections or keys).
    // key -> cfg_.sysctls index, for the built-in defaults and the file's keys.
    std::unordered_map<std::string, size_t> sysctl_index_;
    // [gateway] forwards by (protocol, DNAT target: any IPv4, or one IPv6
    // host): their port ranges, disjoint, first port -> (last port, line).
    std::map<std::pair<std::string, IpAddr>, std::map<uint16_t, std::pair<uint16_t, int>>> forward_ports_;
    // [bridge-filter] forwards by (protocol, host), the same way.
    std::map<std::pair<std::string, IpAddr>, std::map<uint16_t, std::pair<uint16_t, int>>> bridge_forward_ports_;
};

bool Parser::Once(const IniEntry& e, SeenKeys* seen) {
    auto it = std::find_if(seen->begin(), seen->end(), [&](const auto& k) { return k.first == e.key; });
    bool fresh = it == seen->end();
    if (fresh) seen->emplace_back(e.key, e.line);
    else Error(e.line, Quote(e.key) + " given twice (first on line " + std::to_string(it->second) + ")");
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

void Parser::Interface(InterfaceConfig* ifc, const IniEntry& e, SeenKeys* seen) {
    const std::string where = "interface " + Quote(ifc->role) + ": ";
    std::string err;
    if (e.key == "device") {
        if (!Once(e, seen)) return;
        if (std::string why = DeviceNameProblem(e.value); !why.empty())
            Error(e.line, where + "device " + Quote(e.value) + ": " + why);
        ifc->device = e.value;
    } else if (e.key == "mac") {
        if (!Once(e, seen)) return;
        auto mac = ParseMac(e.value, &err);
        if (!mac) Error(e.line, where + "mac " + Quote(e.value) + ": " + err);
        ifc->mac = mac;
    } else if (e.key == "address") {
        auto p = ParsePrefix(e.value, true, &err);
        if (!p) Error(e.line, where + "address " + Quote(e.value) + ": " + err);
        // A /0 on a link makes every address of the family on-link there:
        // a default route out of that link that no [gateway] check sees.
        else if (p->len == 0)
            Error(e.line,
                  where + "address " + Quote(e.value) + ": prefix length 0 would put every address on this link");
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
        if (!ParseUint(e.value, 68, 65535, &mtu))
            Error(e.line, where + "mtu " + Quote(e.value) + ": not a number from 68 to 65535");
        else ifc->mtu = mtu, ifc->mtu_line = e.line;
    } else if (e.key == "bridge") {
        if (Once(e, seen) && ClaimKind(ifc, e)) Bridge(ifc, e);
    } else if (e.key == "vlan") {
        if (Once(e, seen) && ClaimKind(ifc, e)) Vlan(ifc, e);
    } else if (IsWireguardInterfaceKey(e.key)) {
        // wireguard-key makes the device, as bridge and vlan do; its repeat
        // is said as a repeat (wireguard_config.cc).
        bool repeat = e.key == "wireguard-key" && ifc->wireguard && ifc->wireguard->key_line;
        if (e.key == "listen-port" || repeat || ClaimKind(ifc, e)) ParseWireguardInterfaceKey(ifc, e, path_, diags_);
    } else {
        Error(e.line, "unknown key " + Quote(e.key) + " in [interface." + ifc->role + "]");
    }
}

bool Parser::ClaimKind(InterfaceConfig* ifc, const IniEntry& e) {
    if (ifc->kind_key.empty()) {
        ifc->kind_key = e.key;
        ifc->kind_line = e.line;
        return true;
    }
    Error(e.line, "interface " + Quote(ifc->role) + ": " + Quote(e.key) + " and " + Quote(ifc->kind_key) +
                      " (line " + std::to_string(ifc->kind_line) + ") each make a device of their own kind: give one");
    return false;
}

// bridge = DEV DEV ...
void Parser::Bridge(InterfaceConfig* ifc, const IniEntry& e) {
    const std::string where = "interface " + Quote(ifc->role) + ": ";
    std::vector<std::string_view> ports = Words(e.value);
    if (ports.empty()) Error(e.line, where + "bridge: no port named (bridge = DEV DEV ...)");
    for (std::string_view p : ports) {
        if (std::string why = DeviceNameProblem(p); !why.empty()) {
            Error(e.line, where + "bridge port " + Quote(p) + ": " + why);
        } else if (std::find(ifc->bridge_ports.begin(), ifc->bridge_ports.end(), p) != ifc->bridge_ports.end()) {
            Error(e.line, where + "bridge port " + Quote(p) + " listed twice");
        } else {
            ifc->bridge_ports.emplace_back(p);
        }
    }
}

// vlan = DEV ID
void Parser::Vlan(InterfaceConfig* ifc, const IniEntry& e) {
    const std::string where = "interface " + Quote(ifc->role) + ": vlan " + Quote(e.value) + ": ";
    std::vector<std::string_view> w = Words(e.value);
    if (w.size() != 2)
        return Error(e.line, where + "expected 'DEV ID' (the parent device and a VLAN ID from 1 to 4094)");
    if (std::string why = DeviceNameProblem(w[0]); !why.empty())
        return Error(e.line, where + "parent " + Quote(w[0]) + ": " + why);
    uint32_t id = 0;
    if (!ParseUint(w[1], 1, 4094, &id))
        return Error(e.line, where + "VLAN ID " + Quote(w[1]) + ": not a number from 1 to 4094");
    ifc->vlan_parent = std::string(w[0]);
    ifc->vlan_id = static_cast<uint16_t>(id);
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
            if (gw->family != dst->addr.family)
                return Error(e.line, where + "via is " + FamilyName(gw->family) + " but the destination is " +
                                         FamilyName(dst->addr.family));
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
    const std::string where = "sysctl " + Quote(e.key) + ": ";
    std::string why;
    if (!CheckSysctlKey(e.key, &why)) return Error(e.line, where + why);
    if (e.value.empty()) return Error(e.line, where + "empty value");
    if (!CheckSysctlValue(e.value, &why)) return Error(e.line, where + "value " + Quote(e.value) + ": " + why);
    // Kept in the kernel's form, so that "01" matches the kernel's "1" and
    // the manifest holds what the final stage will read back.
    SysctlSetting setting{e.key, SysctlKernelForm(e.value), e.line};
    auto [it, fresh] = sysctl_index_.emplace(e.key, cfg_.sysctls.size());
    if (fresh) return cfg_.sysctls.push_back(std::move(setting));
    SysctlSetting& s = cfg_.sysctls[it->second];
    if (s.line > 0)
        return Error(e.line, "sysctl " + Quote(e.key) + " given twice (first on line " + std::to_string(s.line) + ")");
    s = std::move(setting);  // overrides a built-in default, in place
}

void Parser::Halt(const IniEntry& e, SeenKeys* seen) {
    if (e.key == "modules") {
        for (std::string_view m : Words(e.value)) {
            if (!IsName(m, "_-")) Error(e.line, "[halt] modules: " + Quote(m) + " is not a module name");
            else cfg_.halt.modules.emplace_back(m);
        }
    } else if (e.key == "ctrl-alt-del") {
        if (!Once(e, seen)) return;
        if (!ParseCtrlAltDel(e.value, &cfg_.halt.ctrl_alt_del))
            Error(e.line, "[halt] ctrl-alt-del " + Quote(e.value) + ": expected ignore, reboot or poweroff");
    } else if (e.key == "sysrq") {
        if (!Once(e, seen)) return;
        uint32_t v = 0;
        if (!ParseUint(e.value, 0, 511, &v))
            Error(e.line, "[halt] sysrq " + Quote(e.value) + ": not a number from 0 to 511");
        cfg_.halt.sysrq = static_cast<int>(v);
    } else if (e.key == "heartbeat") {
        if (!Once(e, seen)) return;
        uint32_t v = 0;
        if (e.value != "off" && !ParseDurationSeconds(e.value, kHeartbeatMinSeconds, kHeartbeatMaxSeconds, &v))
            Error(e.line, "[halt] heartbeat " + Quote(e.value) +
                              ": expected off, or a duration from 1s to 24h (30s, 5m, 1h; a bare number is seconds)");
        cfg_.halt.heartbeat_s = static_cast<int>(v);
    } else if (e.key == "panic-reboot") {
        if (!Once(e, seen)) return;
        uint32_t v = 0;
        if (!ParseUint(e.value, kPanicRebootMin, kPanicRebootMax, &v))
            Error(e.line, "[halt] panic-reboot " + Quote(e.value) + ": not a number of seconds from 1 to 3600");
        cfg_.halt.panic_reboot_s = static_cast<int>(v);
        cfg_.halt.panic_reboot_line = e.line;
    } else if (e.key == "netconsole" || e.key == "netconsole-mac") {
        if (Once(e, seen)) Netconsole(e);
    } else {
        Error(e.line, "unknown key " + Quote(e.key) + " in [halt]");
    }
}

// [gateway]: the keys, checked one by one here; against the interfaces
// (which may come later in the file) in CheckGateway.
void Parser::Gateway(const IniEntry& e, SeenKeys* seen) {
    GatewayConfig& gw = *cfg_.gateway;
    if (e.key == "wan") {
        if (!Once(e, seen)) return;
        gw.wan_line = e.line;
        if (e.value.empty()) Error(e.line, "[gateway] wan: empty role name");
        else if (Words(e.value).size() > 1) Error(e.line, "[gateway] wan " + Quote(e.value) + ": one role only");
        else gw.wan = e.value;
    } else if (e.key == "lan" || e.key == "vpn" || e.key == "isolate") {
        if (!Once(e, seen)) return;
        std::vector<std::string>& roles = e.key == "lan" ? gw.lans : e.key == "vpn" ? gw.vpns : gw.isolate;
        (e.key == "lan" ? gw.lan_line : e.key == "vpn" ? gw.vpn_line : gw.isolate_line) = e.line;
        if (Words(e.value).empty()) Error(e.line, "[gateway] " + e.key + ": empty role name");
        for (std::string_view r : Words(e.value)) {
            if (std::find(roles.begin(), roles.end(), r) != roles.end())
                Error(e.line, "[gateway] " + e.key + ": role " + Quote(r) + " listed twice");
            else
                roles.emplace_back(r);
        }
    } else if (e.key == "masquerade") {
        if (Once(e, seen)) YesNo(e, &gw.masquerade, &gw.masquerade_line);
    } else if (e.key == "icmp") {
        if (Once(e, seen)) YesNo(e, &gw.icmp, &gw.icmp_line);
    } else if (e.key == "log-drops") {
        if (Once(e, seen)) YesNo(e, &gw.log_drops, &gw.log_drops_line);
    } else if (e.key == "fastpath") {
        if (Once(e, seen)) YesNo(e, &gw.fastpath, &gw.fastpath_line);
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
        Error(e.line, "[" + e.section + "] " + e.key + " " + Quote(e.value) + ": expected yes or no");
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

// PROTO PORT[-PORT] HOST, the words both profiles' forwards start with,
// into *f; `port` and `host` name them in messages ("WAN port", "LAN host"
// for [gateway]). False with *why for a bad word.
bool ParseForwardTarget(const std::vector<std::string_view>& w, const std::string& port, const std::string& host,
                        ForwardSpec* f, std::string* why) {
    if (w[0] != "tcp" && w[0] != "udp") {
        *why = "protocol " + Quote(w[0]) + ": expected tcp or udp";
        return false;
    }
    f->proto = w[0];
    size_t dash = w[1].find('-');
    if (dash == std::string_view::npos) {
        if (!ParsePort(w[1], &f->first)) {
            *why = port + " " + Quote(w[1]) + ": not a port number (1 to 65535)";
            return false;
        }
        f->last = f->first;
    } else if (!ParsePort(w[1].substr(0, dash), &f->first) || !ParsePort(w[1].substr(dash + 1), &f->last)) {
        *why = port + "s " + Quote(w[1]) + ": expected FIRST-LAST, port numbers from 1 to 65535";
        return false;
    } else if (f->first >= f->last) {
        *why = port + "s " + Quote(w[1]) + ": the first port must be below the last";
        return false;
    }
    std::string err;
    auto a = ParseIpAddr(w[2], &err);
    if (!a) {
        *why = host + " " + Quote(w[2]) + ": " + err;
        return false;
    }
    f->host = *a;
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
    std::string why;
    if (!ParseForwardTarget(w, "WAN port", "LAN host", &f, &why)) return Error(e.line, where + why);
    if (w.size() == 4) {
        if (!ParsePort(w[3], &f.to_port))
            return Error(e.line, where + "LAN port " + Quote(w[3]) + ": not a port number (1 to 65535)");
        // nft maps a range onto a range only as a pool, not port for port.
        if (f.first != f.last)
            return Error(e.line, where + "a WAN port range keeps its ports on the LAN host: give no LAN port");
        if (f.host.family == AF_INET6 && f.to_port != f.first)
            return Error(e.line,
                         where + "IPv6 is forwarded untranslated: the LAN port must be the WAN port (or left out)");
        if (f.host.family == AF_INET6) f.to_port = 0;
    }
    // Two DNATs for one WAN port: the first would win without a word.
    IpAddr target = f.host.family == AF_INET ? IpAddr{AF_INET, {}} : f.host;
    if (!ClaimForwardPorts(&forward_ports_[{f.proto, target}], f, where, w[1])) return;
    cfg_.gateway->forwards.push_back(f);
}

// The ranges kept are disjoint (an overlap is refused), so only the range
// just below ours can reach into it from below; else the first one starting
// inside ours overlaps.
bool Parser::ClaimForwardPorts(std::map<uint16_t, std::pair<uint16_t, int>>* ranges, const ForwardSpec& f,
                               const std::string& where, std::string_view ports) {
    auto hit = ranges->lower_bound(f.first);
    if (hit != ranges->begin() && std::prev(hit)->second.first >= f.first) hit = std::prev(hit);
    if (hit != ranges->end() && hit->first <= f.last) {
        Error(f.line, where + f.proto + " port " + std::string(ports) + " is already forwarded (line " +
                          std::to_string(hit->second.second) + ")");
        return false;
    }
    (*ranges)[f.first] = {f.last, f.line};
    return true;
}

// block = NAME ...
void Parser::Block(const IniEntry& e) {
    std::vector<std::string_view> names = Words(e.value);
    if (names.empty()) Error(e.line, "[gateway] block: no service group named (known: " + ServiceGroupNames() + ")");
    for (std::string_view n : names) {
        if (!FindServiceGroup(n)) {
            Error(e.line,
                  "[gateway] block " + Quote(n) + ": unknown service group (known: " + ServiceGroupNames() + ")");
            continue;
        }
        auto& blocks = cfg_.gateway->blocks;
        auto it = std::find_if(blocks.begin(), blocks.end(), [&](const BlockSpec& b) { return b.name == n; });
        if (it != blocks.end()) {
            Error(e.line,
                  "[gateway] block " + Quote(n) + " given twice (first on line " + std::to_string(it->line) + ")");
            continue;
        }
        blocks.push_back({std::string(n), e.line});
    }
}

// [bridge-filter]: the keys, checked one by one here; against the bridge
// (whose section may come later in the file) in CheckBridgeFilter.
void Parser::BridgeFilter(const IniEntry& e, SeenKeys* seen) {
    BridgeFilterConfig& bf = *cfg_.bridge_filter;
    if (e.key == "bridge") {
        if (!Once(e, seen)) return;
        bf.bridge_line = e.line;
        if (e.value.empty()) Error(e.line, "[bridge-filter] bridge: empty role name");
        else if (Words(e.value).size() > 1)
            Error(e.line, "[bridge-filter] bridge " + Quote(e.value) + ": one role only");
        else bf.bridge = e.value;
    } else if (e.key == "inside") {
        if (Once(e, seen)) BridgeFilterPorts(e, &bf.inside, &bf.inside_line);
    } else if (e.key == "outside") {
        if (Once(e, seen)) BridgeFilterPorts(e, &bf.outside, &bf.outside_line);
    } else if (e.key == "icmp") {
        if (Once(e, seen)) YesNo(e, &bf.icmp, &bf.icmp_line);
    } else if (e.key == "log-drops") {
        if (Once(e, seen)) YesNo(e, &bf.log_drops, &bf.log_drops_line);
    } else if (e.key == "forward") {
        BridgeFilterForward(e);
    } else {
        Error(e.line, "unknown key " + Quote(e.key) + " in [bridge-filter]");
    }
}

// inside = DEV ... / outside = DEV ...
void Parser::BridgeFilterPorts(const IniEntry& e, std::vector<std::string>* ports, int* line) {
    *line = e.line;
    if (Words(e.value).empty()) Error(e.line, "[bridge-filter] " + e.key + ": no port named");
    for (std::string_view p : Words(e.value)) {
        if (std::find(ports->begin(), ports->end(), p) != ports->end())
            Error(e.line, "[bridge-filter] " + e.key + ": port " + Quote(p) + " listed twice");
        else
            ports->emplace_back(p);
    }
}

// An address a connection can be made to: not the unspecified address,
// loopback, multicast or IPv4 broadcast.
bool IsUnicastHost(const IpAddr& a) {
    static const char* const kNot[] = {"0.0.0.0/8", "127.0.0.0/8", "224.0.0.0/4", "255.255.255.255/32",
                                       "::/128", "::1/128", "ff00::/8"};
    for (const char* p : kNot)
        if (ParsePrefix(p, true)->contains(a)) return false;
    return true;
}

// forward = PROTO PORT[-PORT] HOST
void Parser::BridgeFilterForward(const IniEntry& e) {
    const std::string where = "[bridge-filter] forward " + Quote(e.value) + ": ";
    std::vector<std::string_view> w = Words(e.value);
    if (w.size() == 4)
        return Error(e.line, where + "a bridge translates nothing: give no second port (expected 'PROTO PORT[-PORT] "
                                     "HOST')");
    if (w.size() != 3) return Error(e.line, where + "expected 'PROTO PORT[-PORT] HOST'");
    ForwardSpec f;
    f.text = e.value;
    f.line = e.line;
    std::string why;
    if (!ParseForwardTarget(w, "port", "host", &f, &why)) return Error(e.line, where + why);
    if (!IsUnicastHost(f.host))
        return Error(e.line, where + "host " + Quote(w[2]) +
                                 ": not a host's address (unspecified, loopback, multicast or broadcast)");
    if (!ClaimForwardPorts(&bridge_forward_ports_[{f.proto, f.host}], f, where, w[1])) return;
    cfg_.bridge_filter->forwards.push_back(f);
}

// The interface named by `lan =` or `wan =`, or nullptr (reported).
const InterfaceConfig* Parser::GatewaySide(const char* key, const std::string& role, int line) {
    const GatewayConfig& gw = *cfg_.gateway;
    const std::string what = std::string("[gateway] ") + key + " " + Quote(role) + ": ";
    if (line == 0) {
        Error(gw.line, std::string("[gateway]: no '") + key + " =' (the role of the " +
                           (key[0] == 'l' ? "LAN" : "WAN") + "'s [interface.ROLE] section)");
        return nullptr;
    }
    if (role.empty()) return nullptr;  // reported with the key
    const InterfaceConfig* ifc = cfg_.FindRole(role);
    if (!ifc) {
        Error(line, what + "no section " + QuoteValue("interface." + role, '[', ']'));
        return nullptr;
    }
    // The rules match interfaces by name (iifname); a MAC-chosen interface
    // has a name only once apply has found it, and the profile's text must
    // not depend on the machine it is shown on.
    if (ifc->mac) {
        Error(line, what + "interface " + Quote(role) +
                        " is chosen by 'mac'; the profile's rules match interface names: give it 'device ='");
        return nullptr;
    }
    return ifc;
}

// `lan_prefixes` and `lan_addresses` index the LAN zones once for every
// forward; *lan_list is their prefixes for the message, made on the first
// need.
void Parser::CheckForward(const ForwardSpec& f, const std::vector<const InterfaceConfig*>& lans,
                          const InterfaceConfig& wan, const PrefixIndex& lan_prefixes,
                          const std::set<IpAddr>& lan_addresses, std::string* lan_list) {
    const std::string where = "[gateway] forward " + Quote(f.text) + ": ";
    if (f.host.family == AF_INET) {
        bool wan4 = false;
        for (const AddressSpec& a : wan.addresses) wan4 |= a.prefix.addr.family == AF_INET;
        if (!wan4) Error(f.line, where + "interface " + Quote(wan.role) + " has no IPv4 address to forward from");
    }
    if (lan_addresses.count(f.host)) {
        Error(f.line, where + "LAN host " + Quote(FormatIp(f.host)) +
                          " is the box's own address; the box runs no services once halted");
        return;
    }
    if (lan_prefixes.Contains(f.host)) return;
    if (lan_list->empty())
        for (const InterfaceConfig* lan : lans)
            for (const Prefix& p : LanPrefixes(*lan)) *lan_list += (lan_list->empty() ? "" : ", ") + FormatPrefix(p);
    Error(f.line, where + "LAN host " + Quote(FormatIp(f.host)) + " is outside the LAN's prefixes (" + *lan_list + ")");
}

// One LAN zone (`lan =`) or VPN zone (`vpn =`): the profile needs its
// prefixes, and sends it to the WAN.
bool Parser::CheckLanSide(const InterfaceConfig& lan, const char* key, int line) {
    const std::string what = std::string("[gateway] ") + key + " " + Quote(lan.role) + ": interface " + Quote(lan.role);
    const std::string side = key[0] == 'l' ? "LAN" : "VPN";
    bool ok = !lan.addresses.empty();
    if (!ok) Error(line, what + " has no address; the profile needs the " + side + "'s prefixes");
    for (const auto* g : {&lan.gateway, &lan.gateway6})
        if (*g)
            Error(line, what + " has the default route ('" + (g == &lan.gateway ? "gateway" : "gateway6") + "' on line " +
                            std::to_string((*g)->line) + "); the profile sends the " + side + " to the WAN");
    for (const RouteSpec& r : lan.routes)
        if (r.dst.len == 0)
            Error(line, what + " has the default route ('route' on line " + std::to_string(r.line) +
                            "); the profile sends the " + side + " to the WAN");
    return ok;
}

// A role of `vpn =`: a WireGuard interface on the LAN side whose port the
// profile opens on the WAN; `vpns` are the roles before it that passed.
// The interface, or nullptr (reported).
const InterfaceConfig* Parser::CheckVpnSide(const std::string& role, const std::vector<const InterfaceConfig*>& vpns) {
    const GatewayConfig& gw = *cfg_.gateway;
    const std::string what = "[gateway] vpn " + Quote(role) + ": ";
    if (role == gw.wan) {
        Error(gw.vpn_line, what + "the WAN (wan =, line " + std::to_string(gw.wan_line) +
                               "); a VPN zone is on the LAN side, and its port is opened on the WAN");
        return nullptr;
    }
    // Refused rather than merged: in both lists the role's port would be
    // opened although `lan =` alone says nothing of a port, and `isolate`
    // would read one way for one list and another for the other.
    if (std::find(gw.lans.begin(), gw.lans.end(), role) != gw.lans.end()) {
        Error(gw.vpn_line, what + "also in lan (line " + std::to_string(gw.lan_line) +
                               "); list a WireGuard interface in vpn only: vpn makes it a LAN zone and opens its port "
                               "on the WAN");
        return nullptr;
    }
    const InterfaceConfig* ifc = GatewaySide("vpn", role, gw.vpn_line);
    if (!ifc) return nullptr;
    if (!IsWireguard(*ifc)) {
        Error(gw.vpn_line, what + "interface " + Quote(role) +
                               " is not a WireGuard interface (it has no 'wireguard-key ='); for another LAN zone, "
                               "list it in lan");
        return nullptr;
    }
    const uint16_t port = ifc->wireguard->listen_port;
    if (port == 0) {
        Error(gw.vpn_line, what + "interface " + Quote(role) +
                               " has no 'listen-port'; the profile opens the WireGuard port on the WAN and must know it "
                               "(without one the kernel picks a port): give it 'listen-port ='");
        return nullptr;
    }
    for (const InterfaceConfig* other : vpns)
        if (other->wireguard->listen_port == port) {
            Error(gw.vpn_line, what + "listen-port " + std::to_string(port) + " (line " +
                                   std::to_string(ifc->wireguard->listen_port_line) + ") is also interface " +
                                   Quote(other->role) + "'s (line " +
                                   std::to_string(other->wireguard->listen_port_line) +
                                   "); two WireGuard devices cannot listen on one port");
            return nullptr;
        }
    return ifc;
}

// A peer of a VPN zone may send from its allowed IPs, but the profile's
// anti-spoofing lets through only the zone's prefixes (as for a LAN): what
// lies outside them is dropped, which a site's peer would not expect.
void Parser::WarnPeersOutside(const InterfaceConfig& vpn) {
    std::vector<Prefix> own = LanPrefixes(vpn);
    std::string list;
    for (const Prefix& x : own) list += (list.empty() ? "" : ", ") + FormatPrefix(x);
    for (const PeerConfig& peer : cfg_.peers) {
        if (peer.interface != vpn.role) continue;
        for (const AllowedIpSpec& a : peer.allowed_ips) {
            bool inside = std::any_of(own.begin(), own.end(), [&](const Prefix& x) {
                return x.len <= a.prefix.len && x.contains(a.prefix.addr);
            });
            if (!inside)
                diags_->Warning(path_, a.line,
                                "peer " + Quote(peer.name) + ": allowed-ips " + Quote(FormatPrefix(a.prefix)) +
                                    " is outside the prefixes of vpn " + Quote(vpn.role) + " (" + list +
                                    "): the gateway profile drops what the peer sends from it as spoofed; give "
                                    "[interface." + vpn.role + "] an address or a route that covers it");
        }
    }
}

void Parser::CheckGateway() {
    if (!cfg_.gateway) return;
    const GatewayConfig& gw = *cfg_.gateway;
    std::vector<const InterfaceConfig*> lans;
    bool lans_ok = true;
    if (gw.lan_line == 0) GatewaySide("lan", "", 0);  // says the key is missing
    for (const std::string& role : gw.lans) {
        const InterfaceConfig* lan = GatewaySide("lan", role, gw.lan_line);
        lans_ok &= lan != nullptr;
        if (lan) lans.push_back(lan);
    }
    const InterfaceConfig* wan = GatewaySide("wan", gw.wan, gw.wan_line);
    if (wan && std::find(lans.begin(), lans.end(), wan) != lans.end()) {
        Error(gw.wan_line, "[gateway] wan " + Quote(gw.wan) + ": the same interface as lan (line " +
                               std::to_string(gw.lan_line) + "); the two sides need two interfaces");
        return;
    }
    for (const InterfaceConfig* lan : lans) lans_ok &= CheckLanSide(*lan, "lan", gw.lan_line);
    std::vector<const InterfaceConfig*> vpns;
    for (const std::string& role : gw.vpns) {
        const InterfaceConfig* vpn = CheckVpnSide(role, vpns);
        if (vpn && CheckLanSide(*vpn, "vpn", gw.vpn_line)) vpns.push_back(vpn);
        else lans_ok = false;
    }
    auto listed = [](const std::vector<std::string>& v, const std::string& r) {
        return std::find(v.begin(), v.end(), r) != v.end();
    };
    for (const std::string& role : gw.isolate)
        if (!listed(gw.lans, role) && !listed(gw.vpns, role))
            Error(gw.isolate_line, "[gateway] isolate " + Quote(role) + ": not a LAN " +
                                       (gw.vpns.empty() ? "" : "or VPN ") + "role (lan = " +
                                       Join(gw.lans, " ") + ", line " + std::to_string(gw.lan_line) +
                                       (gw.vpns.empty() ? std::string()
                                                        : "; vpn = " + Join(gw.vpns, " ") + ", line " +
                                                              std::to_string(gw.vpn_line)) +
                                       ")");
    // A forward of the WireGuard port would take the tunnel's packets to the
    // LAN host before they reach the box (dstnat comes before input).
    for (const ForwardSpec& f : gw.forwards)
        for (const InterfaceConfig* vpn : vpns) {
            const WireguardInterfaceConfig& wg = *vpn->wireguard;
            if (f.proto == "udp" && f.host.family == AF_INET && f.first <= wg.listen_port && wg.listen_port <= f.last)
                Error(f.line, "[gateway] forward " + Quote(f.text) + ": udp port " + std::to_string(wg.listen_port) +
                                  " is the WireGuard port of vpn " + Quote(vpn->role) + " (listen-port on line " +
                                  std::to_string(wg.listen_port_line) +
                                  "), which the box must receive: forward another port");
        }
    for (const InterfaceConfig* vpn : vpns) WarnPeersOutside(*vpn);
    if (!wan || lans.empty() || !lans_ok) return;
    lans.insert(lans.end(), vpns.begin(), vpns.end());  // from here on, every zone
    // What LanPrefixes (gateway.h) covers: the addresses' and the routes'
    // prefixes, of every LAN zone.
    PrefixIndex lan_prefixes;
    std::set<IpAddr> lan_addresses;
    bool lan4 = false, wan4 = false;
    for (const InterfaceConfig* lan : lans) {
        for (const AddressSpec& a : lan->addresses) {
            lan_prefixes.Add(a.prefix), lan_addresses.insert(a.prefix.addr);
            lan4 |= a.prefix.addr.family == AF_INET;
        }
        for (const RouteSpec& r : lan->routes)
            if (r.dst.len > 0) lan_prefixes.Add(r.dst);
    }
    std::string lan_list;
    for (const ForwardSpec& f : gw.forwards) CheckForward(f, lans, *wan, lan_prefixes, lan_addresses, &lan_list);
    for (const AddressSpec& a : wan->addresses) wan4 |= a.prefix.addr.family == AF_INET;
    if (gw.masquerade && lan4 && !wan4)
        Error(gw.masquerade_line ? gw.masquerade_line : gw.line,
              "[gateway] masquerade: interface " + Quote(wan->role) +
                  " has no IPv4 address to masquerade to (give it one, or 'masquerade = no')");
}

// The invisible bridge `bridge =` names, or nullptr (reported).
const InterfaceConfig* Parser::BridgeFilterBridge() {
    const BridgeFilterConfig& bf = *cfg_.bridge_filter;
    const std::string what = "[bridge-filter] bridge " + Quote(bf.bridge) + ": ";
    if (bf.bridge_line == 0) {
        Error(bf.line, "[bridge-filter]: no 'bridge =' (the role of the invisible bridge's [interface.ROLE] section)");
        return nullptr;
    }
    if (bf.bridge.empty()) return nullptr;  // reported with the key
    const InterfaceConfig* br = cfg_.FindRole(bf.bridge);
    if (!br) {
        Error(bf.bridge_line, what + "no section " + QuoteValue("interface." + bf.bridge, '[', ']'));
        return nullptr;
    }
    if (!br->IsBridge()) {
        Error(bf.bridge_line, what + "interface " + Quote(br->role) +
                                  " is no bridge (it has no 'bridge =' line); the profile filters an invisible bridge");
        return nullptr;
    }
    if (!br->addresses.empty()) {
        Error(bf.bridge_line, what + "interface " + Quote(br->role) + " has an address (line " +
                                  std::to_string(br->addresses[0].line) +
                                  "); the profile is for the invisible bridge, which has none (a bridge with an "
                                  "address is a routed LAN: see [gateway])");
        return nullptr;
    }
    if (br->device.empty()) return nullptr;  // CheckTopology: a created device needs 'device ='
    return br;
}

// [bridge-filter] against the bridge: every port on exactly one side, and
// nothing else of the config that the profile's chains would cut off.
void Parser::CheckBridgeFilter() {
    if (!cfg_.bridge_filter) return;
    const BridgeFilterConfig& bf = *cfg_.bridge_filter;
    const InterfaceConfig* br = BridgeFilterBridge();
    for (const auto& [key, line] : {std::pair("inside", bf.inside_line), std::pair("outside", bf.outside_line)})
        if (line == 0)
            Error(bf.line, std::string("[bridge-filter]: no '") + key + " =' (the bridge's ports on the " +
                               (key[0] == 'i' ? "protected side" : "other side") + ")");
    if (!br) return;
    const std::vector<std::string>& ports = br->bridge_ports;
    const std::string bridge = "bridge " + Quote(br->device) + " (interface " + Quote(br->role) + ", line " +
                               std::to_string(br->kind_line) + ")";
    auto side = [&](const char* key, const std::vector<std::string>& list, int line,
                    const std::vector<std::string>& other, int other_line) {
        for (const std::string& p : list) {
            if (std::find(ports.begin(), ports.end(), p) == ports.end())
                Error(line, std::string("[bridge-filter] ") + key + " " + Quote(p) + ": not a port of " + bridge +
                                ", whose ports are " + Join(ports, " "));
            else if (key[0] == 'o' && std::find(other.begin(), other.end(), p) != other.end())
                Error(line, std::string("[bridge-filter] ") + key + " " + Quote(p) + ": also inside (line " +
                                std::to_string(other_line) + "); a port is on one side only");
        }
    };
    side("inside", bf.inside, bf.inside_line, bf.outside, bf.outside_line);
    side("outside", bf.outside, bf.outside_line, bf.inside, bf.inside_line);
    // Traffic between two outside ports would pass, and with it a
    // connection tracking entry that an outside host shapes at will (a
    // packet it sends to the other outside port, then a forged reply):
    // its next packet inward would then be 'established'.
    if (bf.outside.size() > 1)
        Error(bf.outside_line, "[bridge-filter] outside = " + Join(bf.outside, " ") +
                                   ": one port only (between two outside ports an outside host could make a "
                                   "connection tracking entry that lets it in); put a switch in front of it");
    if (bf.inside_line && bf.outside_line)
        for (const std::string& p : ports)
            if (std::find(bf.inside.begin(), bf.inside.end(), p) == bf.inside.end() &&
                std::find(bf.outside.begin(), bf.outside.end(), p) == bf.outside.end())
                Error(bf.bridge_line, "[bridge-filter] bridge " + Quote(bf.bridge) + ": port " + Quote(p) + " of " +
                                          bridge + " is neither inside nor outside; every port is on one side");
    // The profile's input and output chains drop every frame between the box
    // and this bridge: a device of the box on top of it would be cut off.
    for (const InterfaceConfig& c : cfg_.interfaces)
        if (c.IsVlan() && c.vlan_parent == br->device)
            Error(bf.bridge_line, "[bridge-filter] bridge " + Quote(bf.bridge) + ": interface " + Quote(c.role) +
                                      " (line " + std::to_string(c.kind_line) + ") is a VLAN on " +
                                      Quote(br->device) +
                                      ", and the profile lets nothing between the box and the bridge");
    if (cfg_.gateway && cfg_.gateway->wan == bf.bridge)
        Error(bf.bridge_line, "[bridge-filter] bridge " + Quote(bf.bridge) + ": also the [gateway] wan (line " +
                                  std::to_string(cfg_.gateway->wan_line) +
                                  "); the invisible bridge has no address to route through");
}

// [halt] panic-reboot is kernel.panic (and kernel.panic_on_oops = 1, so
// that an oops, which may leave the kernel limping, reboots too), armed
// like any [sysctl] line: the final stage verifies both. kernel.panic twice
// would leave one of two timeouts silently in force: an error. A [sysctl]
// kernel.panic_on_oops stands, as the operator's own choice.
void Parser::AddPanicSysctls() {
    const HaltConfig& h = cfg_.halt;
    if (h.panic_reboot_s == 0) return;
    if (auto it = sysctl_index_.find("kernel.panic"); it != sysctl_index_.end())
        return Error(h.panic_reboot_line, "[halt] panic-reboot: [sysctl] kernel.panic (line " +
                                              std::to_string(cfg_.sysctls[it->second].line) +
                                              ") sets the same timeout; keep one of the two");
    for (auto [key, value] : {std::pair<const char*, std::string>{"kernel.panic", std::to_string(h.panic_reboot_s)},
                              {"kernel.panic_on_oops", "1"}})
        if (sysctl_index_.emplace(key, cfg_.sysctls.size()).second)
            cfg_.sysctls.push_back({key, value, h.panic_reboot_line});
}

// [halt] netconsole = IP:PORT (IPv6 as [ADDR]:PORT: 6.1's configfs
// targets take either family), and netconsole-mac = MAC. Against the
// interfaces in CheckNetconsole.
void Parser::Netconsole(const IniEntry& e) {
    NetconsoleSpec& nc = cfg_.halt.netconsole ? *cfg_.halt.netconsole : cfg_.halt.netconsole.emplace();
    const std::string where = "[halt] " + e.key + " " + Quote(e.value) + ": ";
    std::string err;
    if (e.key == "netconsole-mac") {
        nc.mac_line = e.line;
        if (auto mac = ParseMac(e.value, &err)) nc.mac = mac;
        else Error(e.line, where + err);
        return;
    }
    nc.line = e.line;
    nc.text = e.value;
    std::string_view v = e.value, host, port;
    size_t colon = v.rfind(':');
    if (v.starts_with('[')) {
        size_t close = v.find(']');
        if (close == std::string_view::npos || close + 1 != colon)
            return Error(e.line, where + "expected [IPV6-ADDRESS]:PORT");
        host = v.substr(1, close - 1);
    } else if (colon == std::string_view::npos) {
        return Error(e.line, where + "expected IP:PORT (192.0.2.10:6666, or [2001:db8::10]:6666 for IPv6)");
    } else if (v.find(':') != colon) {
        return Error(e.line, where + "an IPv6 address goes in brackets: [ADDRESS]:PORT");
    } else {
        host = v.substr(0, colon);
    }
    port = v.substr(colon + 1);
    auto ip = ParseIpAddr(host, &err);
    if (!ip)
        return Error(e.line, where + Quote(host) + ": " + err +
                                 " (an address, not a name: nothing resolves names for the kernel)");
    if (v.starts_with('[') && ip->family != AF_INET6)
        return Error(e.line, where + "brackets are for an IPv6 address; write an IPv4 one as IP:PORT");
    if (!ParsePort(port, &nc.port)) return Error(e.line, where + "port " + Quote(port) + ": not a port number (1 to 65535)");
    nc.remote = *ip;
}

// The collector must be on the link of one of the interfaces: netconsole
// sends one frame to one MAC on one device, with no routing (netpoll).
// The interface whose address's prefix holds it gives the device and the
// source address.
void Parser::CheckNetconsole() {
    if (!cfg_.halt.netconsole) return;
    NetconsoleSpec& nc = *cfg_.halt.netconsole;
    if (nc.line == 0)
        return Error(nc.mac_line, "[halt] netconsole-mac: no 'netconsole =' for it to go with");
    if (nc.remote.family == 0) return;  // reported with the key
    for (const InterfaceConfig& ifc : cfg_.interfaces)
        for (const AddressSpec& a : ifc.addresses) {
            if (a.prefix.addr == nc.remote)
                return Error(nc.line, "[halt] netconsole " + Quote(nc.text) + ": " + Quote(FormatIp(nc.remote)) +
                                          " is the box's own address (interface " + Quote(ifc.role) +
                                          "); give the collector's");
            if (nc.role.empty() && a.prefix.contains(nc.remote)) nc.role = ifc.role, nc.local = a.prefix.addr;
        }
    if (nc.role.empty())
        return Error(nc.line, "[halt] netconsole " + Quote(nc.text) + ": " + Quote(FormatIp(nc.remote)) +
                                  " is outside every prefix configured on the interfaces (netconsole reaches only a "
                                  "collector on the link of one of them)");
    // apply loads it with the other [halt] modules (a kernel with it built
    // in: modprobe succeeds all the same).
    auto& mods = cfg_.halt.modules;
    if (std::find(mods.begin(), mods.end(), "netconsole") == mods.end()) mods.push_back("netconsole");
}

void Parser::AddSysctlDefault(const std::string& key, const std::string& value) {
    if (sysctl_index_.emplace(key, cfg_.sysctls.size()).second) cfg_.sysctls.push_back({key, value, 0});
}

// A gateway forwards: unless the file says otherwise, [gateway] turns
// forwarding on (after every other sysctl).
void Parser::AddGatewaySysctls() {
    for (const char* key : kForwardingSysctls) AddSysctlDefault(key, "1");
}

void Parser::CheckInterface(const InterfaceConfig& ifc) {
    const std::string where = "interface " + Quote(ifc.role) + ": ";
    if (ifc.device.empty() && !ifc.mac) Error(ifc.line, where + "needs 'device' or 'mac'");
    if (!ifc.device.empty() && ifc.mac) Error(ifc.line, where + "give 'device' or 'mac', not both");

    std::map<IpAddr, int> first_line;
    PrefixIndex prefixes;
    for (const AddressSpec& a : ifc.addresses) {
        auto [it, fresh] = first_line.emplace(a.prefix.addr, a.line);
        if (!fresh)
            Error(a.line, where + "address " + Quote(FormatPrefix(a.prefix)) + " given twice (first on line " +
                              std::to_string(it->second) + ")");
        prefixes.Add(a.prefix);
    }

    // A next hop must be reachable through a prefix this interface holds,
    // or the kernel refuses the route (and a halted box cannot fix it).
    for (const auto* gw : {&ifc.gateway, &ifc.gateway6}) {
        if (*gw && !prefixes.Contains((*gw)->prefix.addr))
            Error((*gw)->line, where + (gw == &ifc.gateway ? "gateway " : "gateway6 ") +
                                   Quote(FormatIp((*gw)->prefix.addr)) + " is outside every prefix configured on " +
                                   Quote(ifc.role));
    }
    for (const RouteSpec& r : ifc.routes) {
        if (r.via && !prefixes.Contains(*r.via))
            Error(r.line, where + "route " + Quote(r.text) + ": via " + Quote(FormatIp(*r.via)) +
                              " is outside every prefix configured on " + Quote(ifc.role));
    }
}

// Each device, MAC and overlapping address is reported once per later
// interface, against the first interface that has it: the same message a
// check of every pair gives first, without its n^2 cost (and without n^2
// messages for a file that names one device 100,000 times).
void Parser::CheckAcrossInterfaces() {
    const auto& ifs = cfg_.interfaces;
    std::unordered_map<std::string, size_t> by_device;
    std::map<MacAddr, size_t> by_mac;
    std::vector<std::optional<AddressRef>> overlaps = EarlierOverlaps(ifs);
    size_t ordinal = 0;
    for (size_t i = 0; i < ifs.size(); ++i) {
        const InterfaceConfig& a = ifs[i];
        auto used = [&](const InterfaceConfig& b) {
            return " is already used by interface " + Quote(b.role) + " (line " + std::to_string(b.line) + ")";
        };
        if (!a.device.empty()) {
            auto [it, fresh] = by_device.emplace(a.device, i);
            if (!fresh)
                Error(a.line, "interface " + Quote(a.role) + ": device " + Quote(a.device) + used(ifs[it->second]));
        }
        if (a.mac) {
            auto [it, fresh] = by_mac.emplace(*a.mac, i);
            if (!fresh)
                Error(a.line,
                      "interface " + Quote(a.role) + ": mac " + Quote(FormatMac(*a.mac)) + used(ifs[it->second]));
        }
        for (const AddressSpec& x : a.addresses) {
            const std::optional<AddressRef>& o = overlaps[ordinal++];
            if (!o) continue;
            const InterfaceConfig& b = ifs[o->iface];
            const AddressSpec& y = b.addresses[o->index];
            Error(x.line, "interface " + Quote(a.role) + ": address " + Quote(FormatPrefix(x.prefix)) + " overlaps " +
                              Quote(FormatPrefix(y.prefix)) + " of interface " + Quote(b.role) + " (line " +
                              std::to_string(y.line) + ")");
        }
    }
}

// The kernel keeps one route per destination and metric (NLM_F_REPLACE
// matches on them): a second one with the same key silently replaces the
// first, so it is an error. Default routes of one family with different
// metrics are allowed, and a warning says which one wins.
void Parser::CheckRoutes() {
    std::vector<RouteRef> all;
    for (const InterfaceConfig& ifc : cfg_.interfaces)
        for (RouteRef& r : ConfigRoutes(ifc)) all.push_back(std::move(r));
    std::map<std::pair<Prefix, uint32_t>, const RouteRef*> first;
    std::vector<const RouteRef*> defaults4, defaults6;
    for (const RouteRef& r : all) {
        if (r.dst.len == 0) (r.dst.addr.family == AF_INET ? defaults4 : defaults6).push_back(&r);
        auto [it, fresh] = first.emplace(std::pair(r.dst, r.metric), &r);
        if (fresh) continue;
        const RouteRef& f = *it->second;
        std::string what = r.dst.len == 0
                               ? std::string("a second ") + FamilyName(r.dst.addr.family) +
                                     " default route of metric " + std::to_string(r.metric) + " (the first: " + f.what +
                                     " of interface " + Quote(f.ifc->role) + ", line " + std::to_string(f.line) + ")"
                               : "the same destination and metric (" + std::to_string(r.metric) + ") as " + f.what +
                                     " of interface " + Quote(f.ifc->role) + " (line " + std::to_string(f.line) + ")";
        Error(r.line, "interface " + Quote(r.ifc->role) + ": " + r.what + ": " + what +
                          "; the kernel keeps one route per destination and metric: give them different metrics");
    }
    CheckDefaultRoutes(defaults4);
    CheckDefaultRoutes(defaults6);
}

void Parser::CheckDefaultRoutes(const std::vector<const RouteRef*>& defaults) {
    if (defaults.size() < 2) return;
    const RouteRef* best = defaults[0];
    for (const RouteRef* r : defaults)
        if (r->metric < best->metric) best = r;
    const std::string n = std::to_string(defaults.size());
    for (const RouteRef* r : defaults) {
        if (r == best || r->metric == best->metric) continue;  // the winner, or an error already
        diags_->Warning(path_, r->line,
                        "interface " + Quote(r->ifc->role) + ": " + r->what + ": one of " + n + " " +
                            FamilyName(r->dst.addr.family) + " default routes; the lowest metric wins: " + best->what +
                            " of interface " + Quote(best->ifc->role) + " (line " + std::to_string(best->line) +
                            ", metric " + std::to_string(best->metric) + ")");
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
            // Looked up, not indexed: no two interfaces share a device (an
            // error otherwise), so no later default can ask for this key.
            std::string why;
            if (CheckSysctlKey(key, &why) && !sysctl_index_.count(key)) cfg_.sysctls.push_back({key, "0", 0});
        }
    }
}

// The invisible bridge (topology.h): IPv6 off on the bridge and its ports,
// and no ARP reply from the bridge for any address of the box, verified by
// the final stage like every other sysctl. A [sysctl] line that says
// otherwise for one of these keys is an error, not a silent choice.
void Parser::AddSilentBridgeSysctls() {
    for (const InterfaceConfig& ifc : cfg_.interfaces) {
        if (!ifc.IsSilentBridge() || ifc.device.empty()) continue;
        for (const SysctlSetting& want : SilentBridgeSysctls(ifc)) {
            auto [it, fresh] = sysctl_index_.emplace(want.key, cfg_.sysctls.size());
            if (fresh) {
                cfg_.sysctls.push_back(want);
                continue;
            }
            SysctlSetting& have = cfg_.sysctls[it->second];
            if (have.line == 0) have = want;
            else if (!SysctlValuesEqual(have.value, want.value))
                Error(have.line, "sysctl " + Quote(want.key) + " = " + Quote(have.value) + ": interface " +
                                     Quote(ifc.role) + " is a bridge with no address, which haltfw keeps silent at "
                                     "layer 3 (" + want.key + " = " + want.value +
                                     "): give the bridge an address, or drop this line");
        }
    }
}

Config Parser::Run(const IniFile& ini) {
    cfg_.path = path_;
    cfg_.sysctls = DefaultSysctls();
    for (size_t i = 0; i < cfg_.sysctls.size(); ++i) sysctl_index_.emplace(cfg_.sysctls[i].key, i);
    // Room for what the file brings: no rehash or regrowth on the way.
    sysctl_index_.reserve(cfg_.sysctls.size() + ini.entries.size());
    cfg_.interfaces.reserve(ini.sections.size());

    // Per-section state for "given twice" checks (an interface's beside
    // it); interface sections are created when their header is seen so that
    // an empty one is still checked.
    std::unordered_map<std::string, SeenKeys> seen;
    std::unordered_map<std::string, size_t> iface_index;
    std::vector<SeenKeys> iface_seen;
    std::unordered_map<std::string, size_t> peer_index;  // [peer.NAME] -> cfg_.peers
    for (const IniSection& s : ini.sections) {
        if (s.name.rfind("interface.", 0) == 0) {
            std::string role = s.name.substr(10);
            if (!IsName(role, "_-")) {
                Error(s.line, "section " + QuoteValue(s.name, '[', ']') + ": role name " + Quote(role) +
                                  " may hold only letters, digits, '-' and '_'");
                continue;
            }
            if (auto it = iface_index.find(role); it != iface_index.end()) {
                Error(s.line, "section " + QuoteValue(s.name, '[', ']') + " given twice (first on line " +
                                  std::to_string(cfg_.interfaces[it->second].line) + ")");
                continue;
            }
            iface_index[role] = cfg_.interfaces.size();
            InterfaceConfig ifc;
            ifc.role = role;
            ifc.line = s.line;
            cfg_.interfaces.push_back(std::move(ifc));
            iface_seen.emplace_back();
        } else if (s.name.starts_with("peer.")) {
            std::string name = s.name.substr(5);
            if (!IsName(name, "_-"))
                Error(s.line, "section " + QuoteValue(s.name, '[', ']') + ": peer name " + Quote(name) +
                                  " may hold only letters, digits, '-' and '_'");
            else if (auto it = peer_index.find(name); it != peer_index.end())
                Error(s.line, "section " + QuoteValue(s.name, '[', ']') + " given twice (first on line " +
                                  std::to_string(cfg_.peers[it->second].line) + ")");
            else
                peer_index[name] = cfg_.peers.size(), cfg_.peers.push_back(PeerConfig{.name = name, .line = s.line});
        } else if (s.name == "gateway") {
            if (!cfg_.gateway) cfg_.gateway = GatewayConfig{.line = s.line};
        } else if (s.name == "bridge-filter") {
            if (!cfg_.bridge_filter) cfg_.bridge_filter = BridgeFilterConfig{.line = s.line};
        } else if (s.name != "ruleset" && s.name != "sysctl" && s.name != "halt" && !s.name.empty()) {
            Error(s.line, "unknown section " + QuoteValue(s.name, '[', ']'));
        }
    }

    // A section's entries come one after another: it is looked up once.
    const std::string* section = nullptr;
    SeenKeys* section_seen = nullptr;
    InterfaceConfig* ifc = nullptr;
    PeerConfig* peer = nullptr;
    for (const IniEntry& e : ini.entries) {
        if (!section || e.section != *section) {
            section = &e.section;
            auto it = e.section.starts_with("interface.") ? iface_index.find(e.section.substr(10)) : iface_index.end();
            ifc = it == iface_index.end() ? nullptr : &cfg_.interfaces[it->second];
            section_seen = ifc ? &iface_seen[it->second] : &seen[e.section];
            auto p = e.section.starts_with("peer.") ? peer_index.find(e.section.substr(5)) : peer_index.end();
            peer = p == peer_index.end() ? nullptr : &cfg_.peers[p->second];
        }
        if (e.section.empty()) Error(e.line, Quote(e.key) + " outside any section");
        else if (e.section == "ruleset") Ruleset(e);
        else if (e.section == "sysctl") Sysctl(e);
        else if (e.section == "halt") Halt(e, section_seen);
        else if (e.section == "gateway") Gateway(e, section_seen);
        else if (e.section == "bridge-filter") BridgeFilter(e, section_seen);
        else if (ifc) Interface(ifc, e, section_seen);
        else if (peer) ParsePeerKey(peer, e, path_, diags_);
        // Entries of an unknown section were reported with the section.
    }

    for (const InterfaceConfig& ifc : cfg_.interfaces) CheckInterface(ifc);
    CheckAcrossInterfaces();
    CheckTopology(cfg_.interfaces, path_, diags_);
    CheckRoutes();
    AddInterfaceSysctls();
    AddSilentBridgeSysctls();
    AddPanicSysctls();
    CheckNetconsole();
    CheckGateway();
    CheckBridgeFilter();
    CheckWireguard(cfg_, diags_);
    if (cfg_.gateway) AddGatewaySysctls();
    if (cfg_.rule_files.empty() && !cfg_.gateway && !cfg_.bridge_filter)
        diags_->Error(path_, 0,
                      "no ruleset: add '[gateway]', '[bridge-filter]', or '[ruleset]' with at least one 'file ='");
    return std::move(cfg_);  // the parser is done with it (a copy of 100,000 interfaces is no small thing)
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
    if (IsUtf16(text)) return Config{};  // unread (ParseIni said why): no "no ruleset" after it
    return Parser(path, diags).Run(ini);
}

namespace {

// Closes on scope exit. (files.h's UniqueFd lives in a library this one may
// not link.)
struct Fd {
    int fd = -1;
    explicit Fd(int f) : fd(f) {}
    ~Fd() {
        if (fd >= 0) close(fd);
    }
    Fd(const Fd&) = delete;
    Fd& operator=(const Fd&) = delete;
};

// "larger than 64 MiB (67108865 bytes)"; size 0: not known (still growing).
std::string TooLarge(uint64_t size) {
    return "larger than " + std::to_string(kConfigInputMax >> 20) + " MiB" +
           (size ? " (" + std::to_string(size) + " bytes)" : "");
}

}  // namespace

bool ReadConfigInput(const std::string& path, std::string* text, std::string* why, std::pair<dev_t, ino_t>* id) {
    // Look before opening: an O_PATH descriptor opens nothing, so a FIFO
    // cannot block and a device's open (a watchdog's arms it) never runs.
    Fd look(open(path.c_str(), O_PATH | O_CLOEXEC));
    struct stat st{};
    if (look.fd < 0 || fstat(look.fd, &st) != 0) {
        *why = std::string("cannot read: ") + std::strerror(errno);
        return false;
    }
    if (!S_ISREG(st.st_mode)) {
        *why = std::string("not a regular file (") + FileKind(st.st_mode) + ")";
        return false;
    }
    if (static_cast<uint64_t>(st.st_size) > kConfigInputMax) {
        *why = TooLarge(static_cast<uint64_t>(st.st_size));
        return false;
    }
    // O_NONBLOCK and the inode check: if the path was swapped for a FIFO
    // since the look, the open neither blocks nor is read.
    Fd in(open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK));
    struct stat now{};
    if (in.fd < 0 || fstat(in.fd, &now) != 0) {
        *why = std::string("cannot read: ") + std::strerror(errno);
        return false;
    }
    if (now.st_dev != st.st_dev || now.st_ino != st.st_ino || !S_ISREG(now.st_mode)) {
        *why = "cannot read: replaced while being opened";
        return false;
    }
    if (id) *id = {now.st_dev, now.st_ino};
    // Read at most one byte past the limit: a file that grows after the
    // fstat is still bounded.
    text->assign(std::min<uint64_t>(static_cast<uint64_t>(now.st_size), kConfigInputMax) + 1, '\0');
    size_t used = 0;
    for (;;) {
        if (used == text->size()) text->resize(std::min(used * 2, kConfigInputMax + 1));
        ssize_t n = read(in.fd, text->data() + used, text->size() - used);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) {
            *why = std::string("cannot read: ") + std::strerror(errno);
            return false;
        }
        used += static_cast<size_t>(n);
        if (used > kConfigInputMax) {
            *why = TooLarge(0);
            return false;
        }
        if (n == 0) break;
    }
    text->resize(used);
    return true;
}

namespace {

constexpr const char* kUtf16Text = "UTF-16 text (it starts with a UTF-16 byte order mark): save it as UTF-8";

// What makes an included file one nft cannot read, or "". haltfw hands nft
// a rules file the config names without its byte order mark and CRLF line
// ends (nft_load.h), but nft reads the files those include itself, and nft
// 1.0.6 reads neither ("syntax error, unexpected junk" at every line end).
std::string IncludedTextProblem(std::string_view text) {
    if (IsUtf16(text)) return kUtf16Text;
    if (HasWindowsTextMarks(text))
        return "Windows line ends (CRLF) or a byte order mark, which nft reads only in a file haltfw.conf names: "
               "save it with LF line ends and no byte order mark";
    return {};
}

// Checks a rules file and every file its include statements pull in,
// nested, found as nft finds them (nft_includes.h): each a regular file
// within the size limit, each read once, with the bound. A file nft would
// not find is left for nft to report. Errors name the [ruleset] line.
void CheckRulesFile(const std::string& config, const RuleFile& f, Diagnostics* diags) {
    const std::string where = "[ruleset] file " + QuoteValue(f.path) + ": ";
    std::string text, why;
    std::pair<dev_t, ino_t> id;
    if (!ReadConfigInput(f.path, &text, &why, &id)) return diags->Error(config, f.line, where + why);
    if (IsUtf16(text)) return diags->Error(config, f.line, where + kUtf16Text);
    std::set<std::pair<dev_t, ino_t>> seen{id};  // a cycle, or a file included twice, ends here
    std::vector<std::pair<std::string, std::string>> todo{{f.path, std::move(text)}};  // (path, text)
    while (!todo.empty()) {
        auto [path, body] = std::move(todo.back());
        todo.pop_back();
        for (const std::string& name : IncludeNames(body)) {
            for (const std::string& file : ResolveInclude(name, NftDefaultIncludePaths())) {
                std::string inc;
                if (ReadConfigInput(file, &inc, &why, &id)) why = IncludedTextProblem(inc);
                if (!why.empty()) {
                    diags->Error(config, f.line, where + QuoteValue(path) + " includes " + QuoteValue(name) +
                                                     (file == name ? "" : " (" + QuoteValue(file) + ")") + ": " + why);
                } else if (seen.insert(id).second) {
                    todo.emplace_back(file, std::move(inc));
                }
            }
        }
    }
}

}  // namespace

Config LoadConfig(const std::string& path, Diagnostics* diags, uid_t key_owner) {
    std::string text, why;
    if (!ReadConfigInput(path, &text, &why)) {
        diags->Error(path, 0, why);
        return Config{};
    }
    Config cfg = ParseConfig(text, path, diags);
    for (const RuleFile& f : cfg.rule_files) CheckRulesFile(path, f, diags);
    LoadWireguardKeys(&cfg, key_owner, diags);
    return cfg;
}

std::string DescribeRulesetSources(const Config& cfg) {
    size_t n = cfg.rule_files.size();
    std::string files = std::to_string(n) + " rules file" + (n == 1 ? "" : "s");
    std::string profiles = cfg.gateway && cfg.bridge_filter ? "the gateway and bridge-filter profiles"
                           : cfg.gateway                    ? "the gateway profile"
                           : cfg.bridge_filter              ? "the bridge-filter profile"
                                                            : "";
    if (profiles.empty()) return files;
    return n == 0 ? profiles : profiles + " and " + files;
}

}  // namespace haltfw
