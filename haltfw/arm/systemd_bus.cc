#include "arm/systemd_bus.h"

#include <systemd/sd-bus.h>
#include <systemd/sd-daemon.h>

#include <cstdlib>
#include <cstring>

namespace haltfw {
namespace {

constexpr const char* kDest = "org.freedesktop.systemd1";
constexpr const char* kPath = "/org/freedesktop/systemd1";
constexpr const char* kManager = "org.freedesktop.systemd1.Manager";
// A reload re-reads every unit; systemctl (v252) allows it minutes, not the
// 25 s default of a method call.
constexpr uint64_t kReloadTimeoutUsec = 6 * 60 * 1000000ull;

struct MessageUnref {
    void operator()(sd_bus_message* m) const { sd_bus_message_unref(m); }
};
using MessagePtr = std::unique_ptr<sd_bus_message, MessageUnref>;

// sd_bus_error, freed on scope exit.
struct BusError {
    sd_bus_error e = SD_BUS_ERROR_NULL;
    ~BusError() { sd_bus_error_free(&e); }
    // "Unit haltfw.target not found. (org.freedesktop.systemd1.NoSuchUnit)",
    // or strerror of `r` when the error carries no message.
    std::string Text(int r) const {
        if (sd_bus_error_is_set(&e)) return std::string(e.message ? e.message : "") + " (" + e.name + ")";
        return std::strerror(-r);
    }
};

}  // namespace

bool SystemdRunning() { return sd_booted() > 0; }

void SystemdManager::BusUnref::operator()(sd_bus* b) const { sd_bus_flush_close_unref(b); }

std::unique_ptr<SystemdManager> SystemdManager::Connect(std::string* err, const std::string& address) {
    std::unique_ptr<SystemdManager> m(new SystemdManager);
    // The private socket: a peer-to-peer connection to PID 1 without a bus
    // daemon in between (sd_bus_new's default is not a bus client: no Hello).
    sd_bus* bus = nullptr;
    int r = sd_bus_new(&bus);
    if (r >= 0) {
        m->bus_.reset(bus);
        r = sd_bus_set_address(bus, address.c_str());
        if (r >= 0) r = sd_bus_start(bus);
    }
    if (r >= 0) {
        m->via_ = "private socket";
        return m;
    }
    std::string first = "private socket " + address + ": " + std::strerror(-r);
    m->bus_.reset();
    bus = nullptr;
    r = sd_bus_open_system(&bus);
    if (r < 0) {
        *err = "connect to systemd: " + first + "; system bus: " + std::strerror(-r);
        return nullptr;
    }
    m->bus_.reset(bus);
    m->via_ = "system bus";
    return m;
}

SystemdManager::~SystemdManager() = default;

bool SystemdManager::Reload(std::string* err) {
    sd_bus_message* raw = nullptr;
    int r = sd_bus_message_new_method_call(bus_.get(), &raw, kDest, kPath, kManager, "Reload");
    MessagePtr call(raw);
    BusError e;
    sd_bus_message* reply_raw = nullptr;
    if (r >= 0) r = sd_bus_call(bus_.get(), call.get(), kReloadTimeoutUsec, &e.e, &reply_raw);
    MessagePtr reply(reply_raw);
    if (r < 0) {
        *err = "daemon-reload: " + e.Text(r);
        return false;
    }
    return true;
}

bool SystemdManager::UnitJob(const char* method, const char* verb, const std::string& unit, const std::string& mode,
                             std::string* job, std::string* err) {
    BusError e;
    sd_bus_message* reply_raw = nullptr;
    int r = sd_bus_call_method(bus_.get(), kDest, kPath, kManager, method, &e.e, &reply_raw, "ss", unit.c_str(),
                               mode.c_str());
    MessagePtr reply(reply_raw);
    const char* path = nullptr;
    if (r >= 0) r = sd_bus_message_read(reply.get(), "o", &path);
    if (r < 0) {
        *err = std::string(verb) + " '" + unit + "' (job mode " + mode + "): " + e.Text(r);
        return false;
    }
    *job = path ? path : "";
    return true;
}

bool SystemdManager::ActiveState(const std::string& unit, std::string* state, std::string* err) {
    BusError e;
    sd_bus_message* reply_raw = nullptr;
    int r = sd_bus_call_method(bus_.get(), kDest, kPath, kManager, "GetUnit", &e.e, &reply_raw, "s", unit.c_str());
    MessagePtr reply(reply_raw);
    if (r < 0 && sd_bus_error_has_name(&e.e, "org.freedesktop.systemd1.NoSuchUnit")) {
        *state = "inactive";
        return true;
    }
    const char* path = nullptr;
    if (r >= 0) r = sd_bus_message_read(reply.get(), "o", &path);
    BusError e2;
    char* value = nullptr;
    if (r >= 0)
        r = sd_bus_get_property_string(bus_.get(), kDest, path, "org.freedesktop.systemd1.Unit", "ActiveState", &e2.e,
                                       &value);
    if (r < 0) {
        *err = "state of '" + unit + "': " + (sd_bus_error_is_set(&e.e) ? e.Text(r) : e2.Text(r));
        return false;
    }
    *state = value;
    free(value);
    return true;
}

bool SystemdManager::StartUnit(const std::string& unit, const std::string& mode, std::string* job, std::string* err) {
    return UnitJob("StartUnit", "start", unit, mode, job, err);
}

bool SystemdManager::RestartUnit(const std::string& unit, const std::string& mode, std::string* job, std::string* err) {
    return UnitJob("RestartUnit", "restart", unit, mode, job, err);
}

bool SystemdManager::StopUnit(const std::string& unit, const std::string& mode, std::string* job, std::string* err) {
    return UnitJob("StopUnit", "stop", unit, mode, job, err);
}

}  // namespace haltfw
