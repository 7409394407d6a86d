#include "core/diag.h"

namespace haltfw {

std::string Diagnostic::Format() const {
    std::string out;
    if (!file.empty()) {
        out += file;
        if (line > 0) out += ":" + std::to_string(line);
        out += ": ";
    }
    out += message;
    return out;
}

void Diagnostics::Error(std::string file, int line, std::string message) {
    errors_.push_back({std::move(file), line, std::move(message)});
}

void Diagnostics::Warning(std::string file, int line, std::string message) {
    warnings_.push_back({std::move(file), line, std::move(message)});
}

std::string Diagnostics::FormatErrors() const {
    std::string out;
    for (const Diagnostic& d : errors_) out += d.Format() + "\n";
    return out;
}

std::string Diagnostics::FormatWarnings() const {
    std::string out;
    for (const Diagnostic& d : warnings_) out += d.Format() + "\n";
    return out;
}

}  // namespace haltfw
