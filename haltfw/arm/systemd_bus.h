// Talking to systemd (PID 1) over sd-bus: daemon-reload and starting the
// halt target. The appliance image has no D-Bus daemon, so this connects
// to systemd's private socket, /run/systemd/private, as systemctl does when
// run as root, and only falls back to the system bus when that fails.
#pragma once

#include <memory>
#include <string>

struct sd_bus;

namespace haltfw {

inline constexpr const char* kSystemdPrivateSocket = "unix:path=/run/systemd/private";

/// True when systemd runs this system (sd_booted(): /run/systemd/system
/// exists). False in build containers and in the namespace tests.
bool SystemdRunning();

class SystemdManager {
public:
    /// Connects to `address` (the private socket by default), then to the
    /// system bus. Errors read "connect to systemd: private socket
    /// unix:path=/run/systemd/private: No such file or directory; system
    /// bus: No such file or directory".
    static std::unique_ptr<SystemdManager> Connect(std::string* err,
                                                   const std::string& address = kSystemdPrivateSocket);
    ~SystemdManager();
    SystemdManager(const SystemdManager&) = delete;
    SystemdManager& operator=(const SystemdManager&) = delete;

    /// org.freedesktop.systemd1.Manager.Reload: systemd replies once the
    /// reload is complete, so drop-ins written before are in effect after.
    bool Reload(std::string* err);

    /// Manager.StartUnit(unit, mode); *job gets the job's object path.
    /// Errors read "start 'haltfw.target': Unit haltfw.target not found.
    /// (org.freedesktop.systemd1.NoSuchUnit)".
    bool StartUnit(const std::string& unit, const std::string& mode, std::string* job, std::string* err);
    /// Manager.StopUnit(unit, mode), likewise.
    bool StopUnit(const std::string& unit, const std::string& mode, std::string* job, std::string* err);
    /// Manager.RestartUnit(unit, mode), likewise.
    bool RestartUnit(const std::string& unit, const std::string& mode, std::string* job, std::string* err);

    /// The unit's ActiveState ("active", "inactive", "deactivating", ...);
    /// "inactive" for a unit systemd has not loaded (Manager.GetUnit:
    /// NoSuchUnit), as systemctl is-active says.
    bool ActiveState(const std::string& unit, std::string* state, std::string* err);

    /// Which connection it got: "private socket" or "system bus".
    const std::string& via() const { return via_; }

private:
    SystemdManager() = default;
    bool UnitJob(const char* method, const char* verb, const std::string& unit, const std::string& mode,
                 std::string* job, std::string* err);
    struct BusUnref { void operator()(sd_bus* b) const; };
    std::unique_ptr<sd_bus, BusUnref> bus_;
    std::string via_;
};

}  // namespace haltfw
