// Diagnostics as values (after mold's Error(ctx) << ... / checkpoint()): a
// parser records every problem it finds and goes on, so the user sees all the
// bad lines of a file at once; the caller decides when to stop.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "base/quote.h"

namespace haltfw {

struct Diagnostic {
    std::string file;   ///< As the user named it; empty for no file.
    int line = 0;       ///< 1-based; 0 for "the file as a whole".
    std::string message;

    /// "FILE:LINE: MESSAGE", "FILE: MESSAGE" or "MESSAGE".
    std::string Format() const;
};

class Diagnostics {
public:
    void Error(std::string file, int line, std::string message);
    void Warning(std::string file, int line, std::string message);

    bool ok() const { return errors_.empty(); }
    const std::vector<Diagnostic>& errors() const { return errors_; }
    const std::vector<Diagnostic>& warnings() const { return warnings_; }

    /// Every error, one formatted line each, in the order recorded.
    std::string FormatErrors() const;
    /// Every warning, the same way.
    std::string FormatWarnings() const;

private:
    std::vector<Diagnostic> errors_;
    std::vector<Diagnostic> warnings_;
};

}  // namespace haltfw
