// A captured serial log as `haltfw verify-console` reads it (report.h):
// anything parses, only a complete HALTED-OK report with a digest is ever
// proven, and a report FormatReport wrote is found whole. The same input as
// a capture file, and as the packets of a pcap file: CaptureText reads it
// or says why not, and what it gives parses alike.
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

// What ParseConsole makes of `s` holds together.
void CheckParsed(std::string_view s) {
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
    // Readings that disagree never prove anything.
    FUZZ_CHECK(r.disagreement.empty() || !why.empty());
}

// The capture's text: the file as it is unless it is pcap; else the
// payloads, or an error that says why.
void CheckCapture(std::string_view file) {
    std::string text, err;
    bool ok = CaptureText(file, &text, &err);
    FUZZ_CHECK(ok || !err.empty());
    bool pcap = file.size() >= 4 && (file.starts_with("\xd4\xc3\xb2\xa1") || file.starts_with("\xa1\xb2\xc3\xd4") ||
                                     file.starts_with("\x4d\x3c\xb2\xa1") || file.starts_with("\xa1\xb2\x3c\x4d") ||
                                     file.starts_with("\x0a\x0d\x0d\x0a"));
    if (!pcap) FUZZ_CHECK(ok && text == file);
    if (ok) CheckParsed(text);
}

// A little-endian pcap header of link type `link`: the fuzz input after it
// is read as packet records.
std::string PcapHeader(uint32_t link) {
    std::string h("\xd4\xc3\xb2\xa1\x02\x00\x04\x00", 8);
    h += std::string(8, '\0');
    h += std::string("\xff\xff\x00\x00", 4);
    for (int i = 0; i < 4; ++i) h += static_cast<char>(link >> (8 * i));
    return h;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    std::string_view s = FuzzText(data, size);
    CheckParsed(s);
    CheckRoundTrip(s, size % 2 == 0);
    CheckCapture(s);
    // Its first byte picks a link type the reader knows; the rest is packets.
    if (!s.empty()) {
        constexpr uint32_t kLinks[] = {0, 1, 12, 101, 113, 228, 229, 276};
        CheckCapture(PcapHeader(kLinks[static_cast<unsigned char>(s[0]) % 8]) + std::string(s.substr(1)));
    }
    return 0;
}
