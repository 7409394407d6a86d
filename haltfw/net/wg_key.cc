#include "net/wg_key.h"

#include <string.h>
#include <sys/socket.h>

namespace haltfw {

void WipeBytes(void* p, size_t n) { explicit_bzero(p, n); }

std::string FormatWgEndpoint(const WgEndpoint& e) {
    std::string ip = FormatIp(e.addr);
    return (e.addr.family == AF_INET6 ? "[" + ip + "]" : ip) + ":" + std::to_string(e.port);
}

WgSecret& WgSecret::operator=(const WgSecret& o) {
    if (this != &o) {
        WipeBytes(key_.data(), key_.size());
        key_ = o.key_;
    }
    return *this;
}

WgSecret::~WgSecret() { WipeBytes(key_.data(), key_.size()); }

bool WgSecret::operator==(const WgSecret& o) const {
    uint8_t diff = 0;
    for (size_t i = 0; i < kWgKeyLen; ++i) diff |= key_[i] ^ o.key_[i];
    return diff == 0;
}

namespace {

constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

int Sextet(char c) {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+') return 62;
    if (c == '/') return 63;
    return -1;
}

// "a '*'" for a printable character, "byte 0x07" otherwise. One character
// of a key says nothing useful about it.
std::string DescribeChar(char c) {
    auto u = static_cast<unsigned char>(c);
    if (u > 0x20 && u < 0x7f) return std::string("a '") + c + "'";
    static const char hex[] = "0123456789abcdef";
    return std::string("byte 0x") + hex[u >> 4] + hex[u & 15];
}

}  // namespace

bool DecodeWgKey(std::string_view text, WgKey* out, std::string* why) {
    if (text.size() != kWgKeyTextLen) {
        *why = "not " + std::to_string(kWgKeyTextLen) + " characters (" + std::to_string(text.size()) + ")";
        return false;
    }
    if (text[43] != '=') {
        *why = "not base64 of 32 bytes (it must end in one '=')";
        return false;
    }
    WgKey key{};
    uint32_t acc = 0;
    int bits = 0;
    size_t n = 0;
    for (size_t i = 0; i < 43; ++i) {
        int v = Sextet(text[i]);
        if (v < 0) {
            WipeBytes(key.data(), key.size());
            *why = "not base64 (" + DescribeChar(text[i]) + " at character " + std::to_string(i + 1) + ")";
            return false;
        }
        acc = (acc << 6) | static_cast<uint32_t>(v);
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            key[n++] = static_cast<uint8_t>(acc >> bits);
        }
    }
    // 43 sextets are 258 bits: 32 bytes and 2 bits that must be zero.
    bool canonical = (acc & ((1u << bits) - 1)) == 0;
    acc = 0;
    if (!canonical) {
        WipeBytes(key.data(), key.size());
        *why = "not base64 of 32 bytes (its last character has bits set past the 32nd byte)";
        return false;
    }
    *out = key;
    WipeBytes(key.data(), key.size());
    return true;
}

bool LooksLikeWgKey(std::string_view text) {
    size_t run = 0;
    bool upper = false, lower = false, digit = false;
    for (size_t i = 0; i <= text.size(); ++i) {
        if (i < text.size() && Sextet(text[i]) >= 0) {
            char c = text[i];
            ++run;
            upper |= c >= 'A' && c <= 'Z';
            lower |= c >= 'a' && c <= 'z';
            digit |= c >= '0' && c <= '9';
            continue;
        }
        if (run >= 40 && upper && lower && digit) return true;
        run = 0;
        upper = lower = digit = false;
    }
    return false;
}

std::string EncodeWgKey(const WgKey& key) {
    std::string s;
    s.reserve(kWgKeyTextLen);
    uint32_t acc = 0;
    int bits = 0;
    for (uint8_t b : key) {
        acc = (acc << 8) | b;
        bits += 8;
        while (bits >= 6) {
            bits -= 6;
            s += kAlphabet[(acc >> bits) & 63];
        }
    }
    s += kAlphabet[(acc << (6 - bits)) & 63];  // 256 = 42 * 6 + 4: 4 bits left
    s += '=';
    return s;
}

// ---- X25519 -----------------------------------------------------------------
// Field elements of GF(2^255 - 19) as 16 limbs of 16 bits in int64_t, with
// room for the products of two limbs and carries between reductions. Every
// operation runs in the same time whatever the key (no branch on secrets).

namespace {

using Fe = std::array<int64_t, 16>;

// Brings every limb back to 16 bits; the carry out of the top limb wraps
// around multiplied by 38 (2^256 = 38 mod p), split as 2 * 19.
void Carry(Fe& a) {
    for (int i = 0; i < 16; ++i) {
        int64_t c = a[i] >> 16;
        a[i] -= c * 65536;
        if (i < 15) a[i + 1] += c;
        else a[0] += 38 * c;
    }
}

void Add(Fe& o, const Fe& a, const Fe& b) {
    for (int i = 0; i < 16; ++i) o[i] = a[i] + b[i];
}

void Sub(Fe& o, const Fe& a, const Fe& b) {
    for (int i = 0; i < 16; ++i) o[i] = a[i] - b[i];
}

void Mul(Fe& o, const Fe& a, const Fe& b) {
    int64_t t[31] = {};
    for (int i = 0; i < 16; ++i)
        for (int j = 0; j < 16; ++j) t[i + j] += a[i] * b[j];
    for (int i = 16; i < 31; ++i) t[i - 16] += 38 * t[i];
    for (int i = 0; i < 16; ++i) o[i] = t[i];
    Carry(o);
    Carry(o);
    WipeBytes(t, sizeof(t));
}

void Square(Fe& o, const Fe& a) { Mul(o, a, a); }

// Swaps a and b when bit is 1, without a branch.
void Swap(Fe& a, Fe& b, int64_t bit) {
    int64_t mask = -bit;
    for (int i = 0; i < 16; ++i) {
        int64_t t = mask & (a[i] ^ b[i]);
        a[i] ^= t;
        b[i] ^= t;
    }
}

// a^(p - 2) = a^-1, by the fixed chain of squarings and multiplications
// (p - 2 = 2^255 - 21: every bit set but bits 2 and 4).
void Invert(Fe& o, const Fe& a) {
    Fe c = a;
    for (int i = 253; i >= 0; --i) {
        Square(c, c);
        if (i != 2 && i != 4) Mul(c, c, a);
    }
    o = c;
}

void Unpack(Fe& o, const uint8_t* in) {
    for (int i = 0; i < 16; ++i) o[i] = in[2 * i] + (int64_t{in[2 * i + 1]} << 8);
    o[15] &= 0x7fff;
}

// The canonical little-endian bytes: fully reduced below p.
void Pack(uint8_t* out, const Fe& a) {
    Fe t = a, m{};
    Carry(t);
    Carry(t);
    Carry(t);
    for (int pass = 0; pass < 2; ++pass) {
        m[0] = t[0] - 0xffed;
        for (int i = 1; i < 15; ++i) {
            m[i] = t[i] - 0xffff - ((m[i - 1] >> 16) & 1);
            m[i - 1] &= 0xffff;
        }
        m[15] = t[15] - 0x7fff - ((m[14] >> 16) & 1);
        int64_t borrow = (m[15] >> 16) & 1;
        m[14] &= 0xffff;
        Swap(t, m, 1 - borrow);  // t - p when it did not go negative
    }
    for (int i = 0; i < 16; ++i) {
        out[2 * i] = static_cast<uint8_t>(t[i] & 0xff);
        out[2 * i + 1] = static_cast<uint8_t>(t[i] >> 8);
    }
}

// The Montgomery ladder of RFC 7748 section 5 on u-coordinates.
void ScalarMult(uint8_t* out, const uint8_t* scalar, const uint8_t* point) {
    uint8_t k[32];
    for (int i = 0; i < 32; ++i) k[i] = scalar[i];
    k[0] &= 248;
    k[31] = static_cast<uint8_t>((k[31] & 127) | 64);
    Fe x1{}, x2{}, z2{}, x3{}, z3{}, a{}, b{}, c{}, d{}, e{}, f{};
    const Fe a24 = {0xdb41, 1};  // (486662 - 2) / 4 = 121665
    Unpack(x1, point);
    x2[0] = 1;
    x3 = x1;
    z3[0] = 1;
    for (int i = 254; i >= 0; --i) {
        int64_t bit = (k[i >> 3] >> (i & 7)) & 1;
        Swap(x2, x3, bit);
        Swap(z2, z3, bit);
        Add(a, x2, z2);      // A = x2 + z2
        Sub(b, x2, z2);      // B = x2 - z2
        Add(c, x3, z3);      // C = x3 + z3
        Sub(d, x3, z3);      // D = x3 - z3
        Square(e, a);        // AA
        Square(f, b);        // BB
        Mul(d, d, a);        // DA
        Mul(c, c, b);        // CB
        Add(a, d, c);
        Square(x3, a);       // x3 = (DA + CB)^2
        Sub(b, d, c);
        Square(b, b);
        Mul(z3, b, x1);      // z3 = x1 (DA - CB)^2
        Mul(x2, e, f);       // x2 = AA * BB
        Sub(a, e, f);        // E = AA - BB
        Mul(b, a, a24);
        Add(b, b, e);
        Mul(z2, a, b);       // z2 = E (AA + a24 E)
        Swap(x2, x3, bit);
        Swap(z2, z3, bit);
    }
    Invert(z2, z2);
    Mul(x2, x2, z2);
    Pack(out, x2);
    WipeBytes(k, sizeof(k));
    for (Fe* t : {&x2, &z2, &x3, &z3, &a, &b, &c, &d, &e, &f}) WipeBytes(t->data(), sizeof(*t));
}

}  // namespace

WgKey WgPublicKey(const WgSecret& private_key) {
    uint8_t base[32] = {9};
    WgKey pub{};
    ScalarMult(pub.data(), private_key.key().data(), base);
    return pub;
}

}  // namespace haltfw
