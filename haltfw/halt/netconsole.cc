#include "halt/netconsole.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "halt/sys_files.h"

namespace haltfw {
namespace {

std::string TargetDir(const std::string& root) { return NetconsoleDir(root) + "/" + kNetconsoleTarget; }

// A configfs attribute's text without its newline.
bool ReadAttr(const std::string& dir, const char* name, std::string* value, std::string* err) {
    std::string path = dir + "/" + name;
    if (!ReadFileUpTo(path.c_str(), 256, value, err)) return false;
    while (!value->empty() && (value->back() == '\n' || value->back() == ' ')) value->pop_back();
    return true;
}

bool WriteAttr(const std::string& dir, const char* name, const std::string& value, std::string* err) {
    std::string path = dir + "/" + name;
    return WriteSysFile(path.c_str(), value, err);
}

bool Exists(const std::string& path) {
    struct stat st{};
    return stat(path.c_str(), &st) == 0;
}

}  // namespace

std::string NetconsoleTarget::Describe() const {
    bool v6 = remote_ip.find(':') != std::string::npos;
    return (v6 ? "[" + remote_ip + "]" : remote_ip) + ":" + remote_port + " via " + dev;
}

std::string NetconsoleDir(const std::string& root) { return root + "/netconsole"; }

bool ReadNetconsole(const std::string& root, NetconsoleState* st, std::string* err) {
    *st = NetconsoleState{};
    std::string dir = TargetDir(root);
    if (!Exists(dir)) return true;
    st->present = true;
    std::string enabled;
    NetconsoleTarget& t = st->target;
    if (!ReadAttr(dir, "enabled", &enabled, err) || !ReadAttr(dir, "dev_name", &t.dev, err) ||
        !ReadAttr(dir, "local_ip", &t.local_ip, err) || !ReadAttr(dir, "remote_ip", &t.remote_ip, err) ||
        !ReadAttr(dir, "remote_port", &t.remote_port, err) || !ReadAttr(dir, "remote_mac", &t.remote_mac, err))
        return false;
    st->enabled = enabled == "1";
    return true;
}

namespace {

// Makes the target with `t`, enabled or not. The caller removed any old one.
bool MakeTarget(const std::string& root, const NetconsoleTarget& t, bool enable, std::string* err) {
    std::string dir = TargetDir(root);
    if (mkdir(dir.c_str(), 0755) != 0) {
        *err = "mkdir " + dir + ": " + std::strerror(errno) +
               (errno == ENOENT ? " (no netconsole in this kernel, or configfs not mounted)" : "");
        return false;
    }
    bool ok = WriteAttr(dir, "dev_name", t.dev, err) && WriteAttr(dir, "local_ip", t.local_ip, err) &&
              WriteAttr(dir, "remote_ip", t.remote_ip, err) && WriteAttr(dir, "remote_port", t.remote_port, err) &&
              WriteAttr(dir, "remote_mac", t.remote_mac, err) && (!enable || WriteAttr(dir, "enabled", "1", err));
    if (!ok) (void)rmdir(dir.c_str());  // the half-made target goes; *err says why it was made in vain
    return ok;
}

}  // namespace

bool WriteNetconsole(const std::string& root, const NetconsoleTarget& t, std::string* err) {
    bool removed = false;
    return RemoveNetconsole(root, &removed, err) && MakeTarget(root, t, true, err);
}

bool RemoveNetconsole(const std::string& root, bool* removed, std::string* err) {
    *removed = false;
    std::string dir = TargetDir(root);
    if (rmdir(dir.c_str()) == 0) {
        *removed = true;
        return true;
    }
    if (errno == ENOENT) return true;
    *err = "rmdir " + dir + ": " + std::strerror(errno);
    return false;
}

std::string NetconsoleDrift(const NetconsoleTarget& armed, const NetconsoleState& found) {
    if (!found.present) return "gone";
    if (found.target != armed) return "changed to " + found.target.Describe() + " (mac " + found.target.remote_mac + ")";
    if (!found.enabled) return "disabled, as the kernel leaves it when its device goes away";
    return "";
}

int ConsoleLogLevel(std::string_view printk) {
    size_t i = 0;
    while (i < printk.size() && (printk[i] == ' ' || printk[i] == '\t')) ++i;
    int level = -1;
    for (; i < printk.size() && printk[i] >= '0' && printk[i] <= '9' && level < 100; ++i)
        level = (level < 0 ? 0 : level * 10) + (printk[i] - '0');
    if (i < printk.size() && printk[i] != ' ' && printk[i] != '\t' && printk[i] != '\n') return -1;
    return level;
}

bool RestoreNetconsole(const std::string& root, const NetconsoleState& st, std::string* err) {
    bool removed = false;
    if (!RemoveNetconsole(root, &removed, err)) return false;
    return !st.present || MakeTarget(root, st.target, st.enabled, err);
}

}  // namespace haltfw
