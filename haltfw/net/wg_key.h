// WireGuard keys as values: the 32-byte key, its base64 text (the form `wg
// genkey` writes and haltfw.conf holds), and the public key a private key
// stands for (X25519 with the base point, as `wg pubkey` computes it). Pure
// code, no system calls.
//
// A private or preshared key is a WgSecret: its bytes are wiped when it goes
// away, and nothing in haltfw formats one. Only public keys are printed.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "net/net_addr.h"

namespace haltfw {

inline constexpr size_t kWgKeyLen = 32;
/// base64 of 32 bytes: 43 characters and one '='.
inline constexpr size_t kWgKeyTextLen = 44;

using WgKey = std::array<uint8_t, kWgKeyLen>;

/// A key that must not outlive its use: wiped (explicit_bzero) on
/// destruction and before being overwritten by an assignment.
class WgSecret {
public:
    WgSecret() = default;
    explicit WgSecret(const WgKey& k) : key_(k) {}
    WgSecret(const WgSecret& o) : key_(o.key_) {}
    WgSecret& operator=(const WgSecret& o);
    ~WgSecret();

    const WgKey& key() const { return key_; }
    WgKey* mutable_key() { return &key_; }
    bool operator==(const WgSecret& o) const;  ///< In constant time.

private:
    WgKey key_{};
};

/// A peer's endpoint: an IP literal and a UDP port.
struct WgEndpoint {
    IpAddr addr;
    uint16_t port = 0;
    bool operator==(const WgEndpoint&) const = default;
};

/// "198.51.100.77:51820", "[2001:db8::7]:51820".
std::string FormatWgEndpoint(const WgEndpoint& e);

/// Wipes `n` bytes at `p` in a way the compiler does not drop.
void WipeBytes(void* p, size_t n);

/// Decodes the 44-character base64 text of a key (standard alphabet, one
/// '=' of padding, the unused low bits zero, as `wg` writes it). On failure
/// *why says what is wrong without repeating the text: "not 44 characters
/// (43)", "not base64 (a '*' at character 7)"; the text is never quoted,
/// since it may be a secret.
bool DecodeWgKey(std::string_view text, WgKey* out, std::string* why);

/// True when `text` holds what could be a key's text, whole or nearly: a
/// run of 40 or more base64 characters (no '=') with capitals, small
/// letters and digits among them (a random key lacks one of the three about
/// once in 1,500), anywhere in it. Such a value is never quoted in a
/// message. Few file names match: 40 characters with no '.', '-' or '_',
/// and a capital and a digit among them.
bool LooksLikeWgKey(std::string_view text);

/// The 44-character base64 text of a key (for public keys only).
std::string EncodeWgKey(const WgKey& key);

/// The public key of a private key: X25519(private, 9). The private key is
/// clamped as the kernel clamps it.
WgKey WgPublicKey(const WgSecret& private_key);

}  // namespace haltfw
