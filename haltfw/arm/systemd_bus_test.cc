// SystemdManager against a stand-in for PID 1: an sd-bus server on a unix
// socket in a scratch directory, answering Reload and StartUnit as
// systemd's Manager object does. No systemd, no root.
#include "arm/systemd_bus.h"

#include <sys/socket.h>
#include <sys/un.h>
#include <systemd/sd-bus.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstdlib>
#include <string>
#include <thread>
#include <vector>

using namespace haltfw;

namespace {

struct FakeManager {
    std::vector<std::string> calls;
};

int OnReload(sd_bus_message* m, void* data, sd_bus_error*) {
    static_cast<FakeManager*>(data)->calls.push_back("Reload");
    return sd_bus_reply_method_return(m, "");
}

int OnStartUnit(sd_bus_message* m, void* data, sd_bus_error*) {
    const char *unit = nullptr, *mode = nullptr;
    int r = sd_bus_message_read(m, "ss", &unit, &mode);
    if (r < 0) return r;
    static_cast<FakeManager*>(data)->calls.push_back(std::string("StartUnit ") + unit + " " + mode);
    if (std::string(unit) != "haltfw.target")
        return sd_bus_reply_method_errorf(m, "org.freedesktop.systemd1.NoSuchUnit", "Unit %s not found.", unit);
    return sd_bus_reply_method_return(m, "o", "/org/freedesktop/systemd1/job/42");
}

const sd_bus_vtable kManagerVtable[] = {
    SD_BUS_VTABLE_START(0),
    SD_BUS_METHOD("Reload", "", "", OnReload, SD_BUS_VTABLE_UNPRIVILEGED),
    SD_BUS_METHOD("StartUnit", "ss", "o", OnStartUnit, SD_BUS_VTABLE_UNPRIVILEGED),
    SD_BUS_VTABLE_END,
};

// Serves one connection on `listen_fd` until the client hangs up.
void Serve(int listen_fd, FakeManager* mgr) {
    int fd = accept4(listen_fd, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) return;
    sd_bus* srv = nullptr;
    sd_id128_t id;
    if (sd_bus_new(&srv) < 0) return;
    sd_id128_randomize(&id);
    if (sd_bus_set_fd(srv, fd, fd) >= 0 && sd_bus_set_server(srv, 1, id) >= 0 &&
        sd_bus_add_object_vtable(srv, nullptr, "/org/freedesktop/systemd1", "org.freedesktop.systemd1.Manager",
                                 kManagerVtable, mgr) >= 0 &&
        sd_bus_start(srv) >= 0) {
        for (;;) {
            int r = sd_bus_process(srv, nullptr);
            if (r < 0) break;
            if (r == 0 && sd_bus_wait(srv, 2000000) <= 0) break;
        }
    }
    sd_bus_flush_close_unref(srv);
}

class Server {
public:
    Server() {
        char tmpl[] = "/tmp/haltfw-bus-XXXXXX";
        dir_ = mkdtemp(tmpl);
        path_ = dir_ + "/private";
        fd_ = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        sockaddr_un sa{};
        sa.sun_family = AF_UNIX;
        path_.copy(sa.sun_path, sizeof sa.sun_path - 1);
        REQUIRE(bind(fd_, reinterpret_cast<sockaddr*>(&sa), sizeof sa) == 0);
        REQUIRE(listen(fd_, 1) == 0);
        thread_ = std::thread(Serve, fd_, &mgr);
    }
    ~Server() {
        thread_.join();
        close(fd_);
        unlink(path_.c_str());
        rmdir(dir_.c_str());
    }
    std::string Address() const { return "unix:path=" + path_; }
    FakeManager mgr;

private:
    std::string dir_, path_;
    int fd_ = -1;
    std::thread thread_;
};

}  // namespace

TEST_CASE("systemd bus: Reload and StartUnit over the private socket") {
    Server server;
    {
        std::string err, job;
        std::unique_ptr<SystemdManager> m = SystemdManager::Connect(&err, server.Address());
        REQUIRE(m);
        CHECK(m->via() == "private socket");
        CHECK(m->Reload(&err));
        REQUIRE(m->StartUnit("haltfw.target", "replace-irreversibly", &job, &err));
        CHECK(job == "/org/freedesktop/systemd1/job/42");
        CHECK_FALSE(m->StartUnit("nope.target", "replace-irreversibly", &job, &err));
        CHECK(err == "start 'nope.target' (job mode replace-irreversibly): Unit nope.target not found. "
                     "(org.freedesktop.systemd1.NoSuchUnit)");
    }
    // The connection is closed: the server thread ends and is joined.
    CHECK(server.mgr.calls == std::vector<std::string>{"Reload", "StartUnit haltfw.target replace-irreversibly",
                                                       "StartUnit nope.target replace-irreversibly"});
}

TEST_CASE("systemd bus: no private socket and no system bus is an error naming both") {
    if (access("/run/dbus/system_bus_socket", F_OK) == 0) {
        WARN("a system bus runs here: the fallback would reach it; case not checked");
        return;
    }
    std::string err;
    CHECK_FALSE(SystemdManager::Connect(&err, "unix:path=/nonexistent/haltfw/private"));
    CHECK(err == "connect to systemd: private socket unix:path=/nonexistent/haltfw/private: No such file or directory; "
                 "system bus: No such file or directory");
}
