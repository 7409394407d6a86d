// SHA-256 (FIPS 180-4), small and self-contained so that the final stage
// needs no crypto library in the exitrd.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace haltfw {

class Sha256 {
public:
    Sha256();
    void Update(const void* data, size_t len);
    void Update(std::string_view s) { Update(s.data(), s.size()); }
    std::array<uint8_t, 32> Final();
    /// Final() as 64 lowercase hex digits.
    std::string HexFinal();

private:
    void Block(const uint8_t* p);
    uint32_t h_[8];
    uint8_t buf_[64];
    size_t buf_len_ = 0;
    uint64_t total_ = 0;
};

}  // namespace haltfw
