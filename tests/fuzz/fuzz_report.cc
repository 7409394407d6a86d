// A captured serial log as `haltfw verify-console` reads it (report.h):
// anything parses, only a complete HALTED-OK report with a digest is ever
// proven, and a report FormatReport wrote is found whole.
#include "fuzz_check.h"
#include "halt/report.h"
#include "base/text_lines.h"

using namespace haltfw;

namespace {

// Body lines the report's format cannot carry as body lines (a begin or a
// machine line of their own, a CR that the parser strips).
bool Carriable(std::string_view l) {
    return l.find('\r') == std::string_view::npos && !l.starts_with("report begin") && !l.starts_with("HALTED-");
}

// The input's lines as a report FormatReport writes: the first is the
// version, the rest body lines.
void CheckRoundTrip(std::string_view s, bool ok) {
    HaltReport h;
    std::string_view rest = s, line;
    if (NextLine(&rest, &line)) h.version = line;
    if (h.version.find('\r') != std::string::npos) return;
    while (NextLine(&rest, &line))
        if (Carriable(line)) h.lines.emplace_back(line);
    h.ok = ok;
    h.reason = "fuzz";
    h.fields = {{"digest", std::string(64, 'a')}};
    ConsoleReport r = ParseConsole(FormatReport(h));
    FUZZ_CHECK(r.verdict == (ok ? ConsoleVerdict::kOk : ConsoleVerdict::kFail));
    FUZZ_CHECK(r.lines.size() == h.lines.size() + 2);
    FUZZ_CHECK(r.Field("digest") == std::string(64, 'a'));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    std::string_view s = FuzzText(data, size);
    ConsoleReport r = ParseConsole(s);
    if (r.verdict == ConsoleVerdict::kOk) FUZZ_CHECK(r.machine_line.starts_with("HALTED-OK"));
    if (r.verdict == ConsoleVerdict::kFail) FUZZ_CHECK(r.machine_line.starts_with("HALTED-FAIL "));
    if (r.verdict == ConsoleVerdict::kAbsent) FUZZ_CHECK(r.lines.empty());
    std::string digest = r.Field("digest");
    (void)r.InertField("rss_kib");
    std::string why = WhyNotProven(r, "");
    if (why.empty()) FUZZ_CHECK(r.verdict == ConsoleVerdict::kOk && IsDigestHex(digest));
    std::string why_armed = WhyNotProven(r, digest);
    FUZZ_CHECK(why_armed == why || digest.empty());
    // Never proven against another digest than the report's.
    FUZZ_CHECK(!WhyNotProven(r, std::string(64, digest == std::string(64, '0') ? '1' : '0')).empty());
    CheckRoundTrip(s, size % 2 == 0);
    return 0;
}
