// What the built-in profiles ([gateway]: gateway.h, [bridge-filter]:
// bridge_filter.h) share when they write nft text: the writer, value and set
// formatting, the comments that name a key's line, and the rate limits of
// echo and the drop log. Pure.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace haltfw {

struct PortRange {
    uint16_t first = 0;
    uint16_t last = 0;  ///< == first for a single port.
};

namespace profile_text {

// Rate limits, kernel-side (nft `limit`, a token bucket per rule): they work
// on the halted box as on the running one.
//  - Echo: enough for any monitoring or a person's ping, too little for a
//    flood to cost the box or the LAN anything.
//  - Log: the halted box's only log is the console (a 115200 baud serial
//    line, say); a few lines a minute keep it readable.
inline constexpr const char* kEchoLimit = "limit rate 5/second burst 10 packets";
inline constexpr const char* kLogLimit = "limit rate 10/minute burst 5 packets";

/// The rate-limited log statement of `log-drops = yes`: "limit ... log
/// prefix \"PREFIX\" level warn". KERN_WARNING: printed on the console at the
/// kernel's default console log level (7); with `quiet` on the kernel
/// command line (level 4) only err and above are.
std::string LogDropStatement(const std::string& prefix);

/// "\"eth0\"".
std::string Quoted(const std::string& s);

/// "(line 12)" for a key given in the file, "(default)" for one that is not.
std::string From(int line);

/// "80" or "8000-8010".
std::string FormatRange(const PortRange& r);

/// nft's value or anonymous set: "445" or "{ 137-139, 445 }".
std::string ValueOrSet(const std::vector<std::string>& v);

/// The ranges as ValueOrSet.
std::string Ports(const std::vector<PortRange>& ranges);

std::string Join(const std::vector<std::string>& v, const char* sep);

/// The text being built: one line at a time, tab-indented as `nft list
/// ruleset` prints, so the generated text and the kernel's listing look
/// alike.
class Writer {
public:
    void Line(int depth, const std::string& s) { out_ += std::string(depth, '\t') + s + "\n"; }
    void Comment(int depth, const std::string& s) { Line(depth, "# " + s); }
    void Blank() { out_ += "\n"; }
    std::string Take() { return std::move(out_); }

private:
    std::string out_;
};

}  // namespace profile_text
}  // namespace haltfw
