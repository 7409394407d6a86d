#include "net/wg_key.h"

#include <catch2/catch.hpp>

namespace haltfw {
namespace {

WgKey Hex(const char* hex) {
    WgKey k{};
    for (size_t i = 0; i < k.size(); ++i) k[i] = static_cast<uint8_t>(std::stoi(std::string(hex + 2 * i, 2), nullptr, 16));
    return k;
}

TEST_CASE("X25519 public keys match RFC 7748's test vectors", "[wg_key]") {
    // RFC 7748 section 6.1: Alice's and Bob's key pairs.
    WgSecret alice(Hex("77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a"));
    CHECK(WgPublicKey(alice) == Hex("8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a"));
    WgSecret bob(Hex("5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb"));
    CHECK(WgPublicKey(bob) == Hex("de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f"));
}

TEST_CASE("key text: base64 round trip and canonical form", "[wg_key]") {
    WgKey k = Hex("8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a");
    std::string text = EncodeWgKey(k);
    CHECK(text == "hSDwCYkwp1R0i33ctD73Wg2/Og0mOBr066SpjqqbTmo=");
    WgKey back{};
    std::string why;
    REQUIRE(DecodeWgKey(text, &back, &why));
    CHECK(back == k);
    WgKey zero{};
    CHECK(EncodeWgKey(zero) == "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=");
    for (uint8_t b : {0x01, 0x80, 0xff}) {
        WgKey x{};
        x[31] = b;
        x[0] = static_cast<uint8_t>(b ^ 0x5a);
        REQUIRE(DecodeWgKey(EncodeWgKey(x), &back, &why));
        CHECK(back == x);
    }
}

TEST_CASE("key text: what is wrong, never the text itself", "[wg_key]") {
    WgKey k{};
    std::string why;
    CHECK_FALSE(DecodeWgKey("hSDwCYkwp1R0i33ctD73Wg2/Og0mOBr066SpjqqbTmo", &k, &why));
    CHECK(why == "not 44 characters (43)");
    CHECK_FALSE(DecodeWgKey("hSDwCYkwp1R0i33ctD73Wg2/Og0mOBr066SpjqqbTmo==", &k, &why));
    CHECK(why == "not 44 characters (45)");
    CHECK_FALSE(DecodeWgKey("hSDwCYkwp1R0i33ctD73Wg2/Og0mOBr066SpjqqbTmoA", &k, &why));
    CHECK(why == "not base64 of 32 bytes (it must end in one '=')");
    CHECK_FALSE(DecodeWgKey("hSDwCY*wp1R0i33ctD73Wg2/Og0mOBr066SpjqqbTmo=", &k, &why));
    CHECK(why == "not base64 (a '*' at character 7)");
    CHECK_FALSE(DecodeWgKey("hSDwCY wp1R0i33ctD73Wg2/Og0mOBr066SpjqqbTmo=", &k, &why));
    CHECK(why == "not base64 (byte 0x20 at character 7)");
    // 'p' is 41: its low two bits are past the 32nd byte.
    CHECK_FALSE(DecodeWgKey("hSDwCYkwp1R0i33ctD73Wg2/Og0mOBr066SpjqqbTmp=", &k, &why));
    CHECK(why == "not base64 of 32 bytes (its last character has bits set past the 32nd byte)");
}

TEST_CASE("secrets compare by value and are wiped", "[wg_key]") {
    WgSecret a(Hex("77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a"));
    WgSecret b = a;
    CHECK(a == b);
    b.mutable_key()->at(31) ^= 1;
    CHECK_FALSE(a == b);
    b = WgSecret();
    CHECK(b.key() == WgKey{});
}

TEST_CASE("key text: what looks like a key, whole or nearly", "[wg_key]") {
    const std::string key = "yAnz5TF+lXXJte14tji3zlMNq+hd2rYUIgJBgB3fBmk=";
    CHECK(LooksLikeWgKey(key));
    CHECK(LooksLikeWgKey(key.substr(0, 40)));
    CHECK(LooksLikeWgKey("./" + key));
    CHECK(LooksLikeWgKey("PrivateKey = " + key + " # the box"));
    CHECK_FALSE(LooksLikeWgKey(key.substr(0, 39)));
    CHECK_FALSE(LooksLikeWgKey("/etc/haltfw/wg0.key"));
    CHECK_FALSE(LooksLikeWgKey("/etc/wireguard/haltfw/office/privatekeyfile/of/the/box"));
    CHECK_FALSE(LooksLikeWgKey("203.0.113.0/24 via 198.51.100.1"));
    CHECK_FALSE(LooksLikeWgKey(""));
}

}  // namespace
}  // namespace haltfw
