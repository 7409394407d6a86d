// For unit tests only: WireGuard keys and a device to build tests on.
#pragma once

#include <cstdint>

#include "net/wireguard.h"

namespace haltfw {

/// A key of 32 equal bytes.
inline WgKey FilledWgKey(uint8_t b) {
    WgKey k;
    k.fill(b);
    return k;
}

/// wg0 on port 51820 with private key 0x11..., and two peers: "laptop"
/// (key 0x22..., preshared key 0x33..., endpoint 198.51.100.77:51821,
/// keepalive 25, allowed IPs 203.0.113.130/32 and 2001:db8:77::/64) and
/// "site" (key 0x44..., endpoint [2001:db8::7]:443, 192.0.2.128/25).
inline WgDevice SampleWgDevice() {
    auto prefix = [](const char* s) { return *ParsePrefix(s, false); };
    WgDevice d;
    d.name = "wg0";
    d.private_key = WgSecret(FilledWgKey(0x11));
    d.listen_port = 51820;
    WgPeer laptop;
    laptop.public_key = FilledWgKey(0x22);
    laptop.preshared_key = WgSecret(FilledWgKey(0x33));
    laptop.endpoint = WgEndpoint{*ParseIpAddr("198.51.100.77"), 51821};
    laptop.keepalive_s = 25;
    laptop.allowed_ips = {prefix("203.0.113.130/32"), prefix("2001:db8:77::/64")};
    WgPeer site;
    site.public_key = FilledWgKey(0x44);
    site.endpoint = WgEndpoint{*ParseIpAddr("2001:db8::7"), 443};
    site.allowed_ips = {prefix("192.0.2.128/25")};
    d.peers = {laptop, site};
    return d;
}

}  // namespace haltfw
