#include "nft/sha256.h"

#include <catch2/catch.hpp>

using haltfw::Sha256;

namespace {
std::string Hex(const std::string& s) {
    Sha256 h;
    h.Update(s);
    return h.HexFinal();
}
}  // namespace

TEST_CASE("SHA-256 matches the FIPS 180-4 examples") {
    CHECK(Hex("") == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    CHECK(Hex("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    CHECK(Hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq") ==
          "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
    CHECK(Hex(std::string(1000000, 'a')) == "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

TEST_CASE("feeding in pieces gives the same digest as at once") {
    std::string text(300, 'x');
    for (size_t i = 0; i < text.size(); ++i) text[i] = static_cast<char>('a' + i % 26);
    for (size_t cut : {1u, 55u, 56u, 63u, 64u, 65u, 200u}) {
        Sha256 h;
        h.Update(text.substr(0, cut));
        h.Update(text.substr(cut));
        CHECK(h.HexFinal() == Hex(text));
    }
}
