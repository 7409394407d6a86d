// Helpers shared by the unit tests that start from a haltfw.conf text.
#pragma once

#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "core/config.h"

namespace haltfw {

/// Parses `text` as `name` ("haltfw.conf" unless given); the test fails
/// (showing every error) unless it is valid.
inline Config ParseValid(const std::string& text, const std::string& name = "haltfw.conf") {
    Diagnostics d;
    Config c = ParseConfig(text, name, &d);
    INFO(d.FormatErrors());
    REQUIRE(d.ok());
    return c;
}

/// Every error in `d`, formatted, in the order recorded.
inline std::vector<std::string> FormattedErrors(const Diagnostics& d) {
    std::vector<std::string> out;
    for (const Diagnostic& e : d.errors()) out.push_back(e.Format());
    return out;
}

/// Parses `text` as "haltfw.conf" and returns every error, formatted.
inline std::vector<std::string> ConfigErrors(const std::string& text) {
    Diagnostics d;
    ParseConfig(text, "haltfw.conf", &d);
    return FormattedErrors(d);
}

}  // namespace haltfw
