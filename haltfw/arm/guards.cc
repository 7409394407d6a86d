#include "arm/guards.h"

#include <unistd.h>

#include <cstdlib>

#include "arm/files.h"
#include "base/text_lines.h"

namespace haltfw {
namespace {

constexpr const char* kNetfilterPersistent = "netfilter-persistent.service";

// Shell-ish and INI-ish "KEY=VALUE" lines: comments and blank lines skipped,
// white space and one level of quotes around the value removed. Returns the
// value of the last assignment to `key`, or false if there is none.
bool LastAssignment(std::string_view text, std::string_view key, bool shell, std::string* value) {
    bool found = false;
    for (std::string_view line; NextLine(&text, &line);) {
        auto trim = [](std::string_view s) {
            while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
            while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) s.remove_suffix(1);
            return s;
        };
        line = trim(line);
        if (shell && line.substr(0, 7) == "export ") line = trim(line.substr(7));
        size_t eq = line.find('=');
        if (line.empty() || line[0] == '#' || eq == std::string_view::npos || trim(line.substr(0, eq)) != key) continue;
        std::string_view v = trim(line.substr(eq + 1));
        if (v.size() >= 2 && (v.front() == '"' || v.front() == '\'') && v.back() == v.front())
            v = v.substr(1, v.size() - 2);
        *value = std::string(v);
        found = true;
    }
    return found;
}

std::string Lower(std::string s) {
    for (char& c : s)
        if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    return s;
}

bool Exists(const std::string& path) { return access(path.c_str(), F_OK) == 0; }

}  // namespace

const std::vector<GuardableUnit>& GuardableUnits() {
    // Debian 12 (nftables 1.0.6, ifupdown 0.8.41, iptables-persistent 1.0.20,
    // wireguard-tools 1.0.20210914).
    static const std::vector<GuardableUnit> units = {
        {"nftables.service",
         "its ExecStop ('nft flush ruleset') would flush the ruleset the halted firewall forwards with."},
        {"networking.service",
         "its ExecStop ('ifdown -a') would deconfigure the interfaces the halted firewall forwards on."},
        {"ifup@.service", "its ExecStop ('ifdown %I') would deconfigure each hotplugged interface."},
        {kNetfilterPersistent, "FLUSH_ON_STOP=1: its ExecStop would flush the ruleset."},
        {"wg-quick@.service",
         "its ExecStop ('wg-quick down %i') would delete each WireGuard device the halted firewall tunnels with."},
    };
    return units;
}

std::string DropInPath(const std::string& unit_dir, const std::string& unit) {
    return unit_dir + "/" + unit + ".d/" + kDropInName;
}

std::vector<DropIn> GuardDropIns(const GuardFacts& f, const std::string& unit_dir) {
    std::vector<DropIn> out;
    for (const GuardableUnit& g : GuardableUnits()) {
        if (!f.present.count(g.unit)) continue;
        if (g.unit == kNetfilterPersistent && !f.netfilter_persistent_flushes) continue;
        std::string content =
            "# Written by 'haltfw arm', removed by 'haltfw disarm' (see haltfw(8)).\n"
            "# Keeps the firewall in place through the halt: " + g.why + "\n"
            "[Service]\n"
            "ExecStop=\n";
        out.push_back({g.unit, DropInPath(unit_dir, g.unit), content});
    }
    return out;
}

std::vector<std::string> GuardBlockers(const GuardFacts& f) {
    std::vector<std::string> out;
    if (f.firewalld_installed && f.firewalld_cleanup)
        out.push_back(std::string("firewalld is installed and its CleanupOnExit is yes") +
                      (f.firewalld_cleanup_set ? "" : " (the default: /etc/firewalld/firewalld.conf does not set it)") +
                      ": when firewalld stops at the halt it flushes the ruleset and sets every policy to ACCEPT; "
                      "set CleanupOnExit=no in /etc/firewalld/firewalld.conf or remove firewalld");
    return out;
}

bool ParseFlushOnStop(std::string_view defaults_file) {
    std::string v;
    return LastAssignment(defaults_file, "FLUSH_ON_STOP", true, &v) && v == "1";
}

bool ParseCleanupOnExit(std::string_view conf, bool* set) {
    std::string v;
    *set = LastAssignment(conf, "CleanupOnExit", false, &v);
    if (!*set) return true;
    v = Lower(v);
    return v != "no" && v != "false";
}

std::string SysRoot() {
    const char* r = std::getenv("HALTFW_SYSROOT");
    return r && *r ? r : "";
}

std::string RuntimeUnitDir(const std::string& sysroot) { return sysroot + "/run/systemd/system"; }

bool ReadGuardFacts(const std::string& sysroot, GuardFacts* f, std::string* err) {
    *f = GuardFacts{};
    for (const GuardableUnit& g : GuardableUnits())
        for (const char* dir : {"/etc/systemd/system/", "/lib/systemd/system/", "/usr/lib/systemd/system/"})
            if (Exists(sysroot + dir + g.unit)) f->present.insert(g.unit);

    std::string text;
    std::string path = sysroot + "/etc/default/netfilter-persistent";
    if (ReadWholeFile(path, &text, err)) f->netfilter_persistent_flushes = ParseFlushOnStop(text);
    else if (!err->empty()) return false;

    f->firewalld_installed = Exists(sysroot + "/usr/sbin/firewalld");
    path = sysroot + "/etc/firewalld/firewalld.conf";
    if (ReadWholeFile(path, &text, err)) f->firewalld_cleanup = ParseCleanupOnExit(text, &f->firewalld_cleanup_set);
    else if (!err->empty()) return false;
    return true;
}

}  // namespace haltfw
