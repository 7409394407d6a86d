// Helpers shared by the unit tests that start from a haltfw.conf text.
#pragma once

#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "core/config.h"

namespace haltfw {

/// Parses `text` as "haltfw.conf"; the test fails (showing every error)
/// unless it is valid.
inline Config ParseValid(const std::string& text) {
    Diagnostics d;
    Config c = ParseConfig(text, "haltfw.conf", &d);
    INFO(d.FormatErrors());
    REQUIRE(d.ok());
    return c;
}

/// Parses `text` as "haltfw.conf" and returns every error, formatted.
inline std::vector<std::string> ConfigErrors(const std::string& text) {
    Diagnostics d;
    ParseConfig(text, "haltfw.conf", &d);
    std::vector<std::string> out;
    for (const Diagnostic& e : d.errors()) out.push_back(e.Format());
    return out;
}

}  // namespace haltfw
