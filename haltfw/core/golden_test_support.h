// The files under tests/data the profile tests read, and their golden
// files: the generated text must match one byte for byte. With
// HALTFW_UPDATE_GOLDEN set in the environment, CheckGolden writes the
// text over the golden file first (then read the diff before committing
// it). Shared by the unit tests of the gateway and bridge-filter profiles.
#pragma once

#include <catch2/catch.hpp>

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>

#ifndef HALTFW_TEST_DATA
#error "HALTFW_TEST_DATA must name tests/data"
#endif

namespace haltfw {

/// tests/data/DIR/NAME, whole; a failed REQUIRE if it cannot be read.
inline std::string ReadTestData(const std::string& dir, const std::string& name) {
    std::ifstream in(std::string(HALTFW_TEST_DATA) + "/" + dir + "/" + name);
    INFO("reading tests/data/" << dir << "/" << name);
    REQUIRE(in);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

/// `text` against the golden file tests/data/DIR/NAME.
inline void CheckGolden(const std::string& dir, const std::string& name, const std::string& text) {
    if (std::getenv("HALTFW_UPDATE_GOLDEN")) std::ofstream(std::string(HALTFW_TEST_DATA) + "/" + dir + "/" + name) << text;
    CHECK(text == ReadTestData(dir, name));
}

}  // namespace haltfw
