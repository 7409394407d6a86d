// WG_CMD_GET_DEVICE replies as the kernel's generic netlink sends them
// (net/wireguard.h, ParseWgDeviceMessage): any bytes, no read past the
// message (every attribute is checked before it is read), and what parses
// is a device that builds back into SET_DEVICE messages.
#include <cstring>
#include <memory>
#include <vector>

#include "fuzz_check.h"
#include "net/wireguard.h"

using namespace haltfw;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    // An exact-size copy from operator new (aligned as netlink buffers
    // are): ASan then sees any read past the end.
    std::unique_ptr<char[]> msg(new char[size]);
    if (size) std::memcpy(msg.get(), data, size);
    WgDevice d;
    std::string why;
    // Twice over the same device: the second is a continuation message.
    for (int round = 0; round < 2; ++round) {
        if (!ParseWgDeviceMessage(msg.get(), size, &d, &why)) {
            FUZZ_CHECK(!why.empty());
            return 0;
        }
    }
    for (const WgPeer& p : d.peers)
        for (const Prefix& a : p.allowed_ips) FUZZ_CHECK(a.len >= 0 && a.len <= a.addr.bits());
    d.name = "wg0";  // the reply's name may be long; SET names the device by this
    for (const std::vector<char>& m : BuildWgSetDevice(d, 0x1c, 1)) FUZZ_CHECK(m.size() <= kWgSetMessageMax);
    return 0;
}
