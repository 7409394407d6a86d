#include "halt/report.h"

#include <arpa/inet.h>

#include <algorithm>
#include <cstdint>
#include <map>
#include <unordered_set>

#include "base/text_lines.h"

namespace haltfw {
namespace {

constexpr std::string_view kBegin = "report begin";
constexpr std::string_view kInert = "INERT ";
constexpr std::string_view kAlive = "ALIVE ";

std::string_view StripCr(std::string_view s) {
    while (!s.empty() && (s.back() == '\r' || s.back() == '\n')) s.remove_suffix(1);
    return s;
}

// "HALTED-OK digest=ab links=2 lines=9" -> fields, the verdict word kept
// apart by the caller.
std::vector<std::pair<std::string, std::string>> Fields(std::string_view machine) {
    std::vector<std::pair<std::string, std::string>> out;
    size_t i = 0;
    while (i < machine.size()) {
        size_t sp = machine.find(' ', i);
        if (sp == std::string_view::npos) sp = machine.size();
        std::string_view word = machine.substr(i, sp - i);
        size_t eq = word.find('=');
        if (eq != std::string_view::npos) out.emplace_back(word.substr(0, eq), word.substr(eq + 1));
        i = sp + 1;
    }
    return out;
}

}  // namespace

std::string JoinList(const std::vector<std::string>& items) {
    std::string s;
    for (const std::string& x : items) s += (s.empty() ? "" : ", ") + x;
    return s;
}

std::string FormatReport(const HaltReport& r) {
    std::string out = std::string(kReportPrefix) + std::string(kBegin) + " (haltfw " + r.version + ")\n";
    for (const std::string& l : r.lines) out += kReportPrefix + l + "\n";
    std::string machine =
        r.ok ? "HALTED-OK" : "HALTED-FAIL reason=" + (r.reason.empty() ? std::string("unknown") : r.reason);
    for (const auto& [k, v] : r.fields) machine += " " + k + "=" + v;
    machine += " lines=" + std::to_string(r.lines.size() + 1);
    out += kReportPrefix + machine + "\n";
    return out;
}

namespace {

std::string FieldOf(const std::vector<std::pair<std::string, std::string>>& fields, const std::string& key) {
    for (const auto& [k, v] : fields)
        if (k == key) return v;
    return "";
}

}  // namespace

std::string ConsoleReport::Field(const std::string& key) const { return FieldOf(fields, key); }

std::string ConsoleReport::InertField(const std::string& key) const { return FieldOf(inert_fields, key); }

namespace {

bool AllDigits(std::string_view s) { return !s.empty() && s.find_first_not_of("0123456789") == std::string_view::npos; }

std::string_view TrimLeft(std::string_view s) { return s.substr(std::min(s.find_first_not_of(' '), s.size())); }

// "   30.387225": seconds and microseconds, as printk writes its time.
bool IsTime(std::string_view s) {
    s = TrimLeft(s);
    size_t dot = s.find('.');
    return dot != std::string_view::npos && AllDigits(s.substr(0, dot)) && AllDigits(s.substr(dot + 1));
}

// "    T1" or "C0": the task or CPU printk names with CONFIG_PRINTK_CALLER.
bool IsCaller(std::string_view s) {
    s = TrimLeft(s);
    return s.size() > 1 && (s[0] == 'T' || s[0] == 'C') && AllDigits(s.substr(1));
}

// Where the kernel log's stamp of a copy begins in `pre`, the text before
// "HALTFW: " on its line; npos if `pre` does not end in one. The stamps:
//  - "[   30.387225] " (printk's time, as a console shows a kernel message
//    and as non-extended netconsole sends it), perhaps after "<14>" (the
//    syslog form, console_msg_format=syslog) and before "[    T1] " (the
//    caller, with CONFIG_PRINTK_CALLER);
//  - "14,532,30387225,-;" (extended netconsole: facility and level,
//    sequence number, microseconds, flags), the whole of `pre`.
size_t KernelStamp(std::string_view pre) {
    if (pre.ends_with("] ")) {
        size_t close = pre.size() - 2;
        size_t open = pre.rfind('[', close);
        if (open == std::string_view::npos) return std::string_view::npos;
        if (IsCaller(pre.substr(open + 1, close - open - 1)) && open > 0 && pre[open - 1] == ']') {
            close = open - 1;
            open = pre.rfind('[', close);
            if (open == std::string_view::npos) return std::string_view::npos;
        }
        if (!IsTime(pre.substr(open + 1, close - open - 1))) return std::string_view::npos;
        if (open > 0 && pre[open - 1] == '>') {
            size_t lt = pre.rfind('<', open - 1);
            if (lt != std::string_view::npos && AllDigits(pre.substr(lt + 1, open - 2 - lt))) return lt;
        }
        return open;
    }
    if (pre.ends_with(";")) {
        // Three numbers, then flags (and, with CONFIG_PRINTK_CALLER,
        // ",caller=..."), from the line's start.
        std::string_view h = pre.substr(0, pre.size() - 1);
        for (int i = 0; i < 3; ++i) {
            size_t comma = h.find(',');
            if (comma == std::string_view::npos || !AllDigits(h.substr(0, comma))) return std::string_view::npos;
            h.remove_prefix(comma + 1);
        }
        return h.empty() || h.find(' ') != std::string_view::npos ? std::string_view::npos : 0;
    }
    return std::string_view::npos;
}

// Extended netconsole escapes a byte below ' ', from 127 up, and '\\' as
// "\xNN": back to the byte.
std::string Unescape(std::string_view s) {
    std::string out;
    for (size_t i = 0; i < s.size(); ++i) {
        unsigned v = 0;
        bool hex = i + 3 < s.size() && s[i] == '\\' && s[i + 1] == 'x';
        for (size_t k = i + 2; hex && k < i + 4; ++k) {
            char c = s[k];
            int d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
            if (d < 0) hex = false;
            else v = v * 16 + static_cast<unsigned>(d);
        }
        if (hex) {
            out += static_cast<char>(v);
            i += 3;
        } else {
            out += s[i];
        }
    }
    return out;
}

// One "HALTFW: " line of a log, as the parser takes it.
struct TaggedLine {
    std::string text;   ///< From "HALTFW: " to the end of the line.
    std::string stamp;  ///< The kernel's stamp before it ("" for a direct line).
};

// The log's "HALTFW: " lines of one kind: written to the console directly
// (`kernel` false) or the kernel log's copies (true).
std::vector<TaggedLine> HaltfwLines(std::string_view log, bool kernel) {
    const std::string_view prefix = kReportPrefix;
    std::vector<TaggedLine> out;
    for (std::string_view raw; NextLine(&log, &raw);) {
        std::string_view line = StripCr(raw);
        // Our lines may follow other output on the same console line (a
        // kernel message without its newline yet): look for the prefix
        // anywhere.
        size_t at = line.find(prefix);
        if (at == std::string_view::npos) continue;
        size_t stamp = KernelStamp(line.substr(0, at));
        if ((stamp != std::string_view::npos) != kernel) continue;
        std::string_view st = kernel ? line.substr(stamp, at - stamp) : std::string_view();
        bool extended = kernel && st.ends_with(";");
        out.push_back({extended ? Unescape(line.substr(at)) : std::string(line.substr(at)), std::string(st)});
    }
    return out;
}

// The last report in `lines`, all of one kind (`kernel`: the kernel's
// stamped copies).
ConsoleReport ReadReport(const std::vector<TaggedLine>& lines, bool kernel) {
    ConsoleReport r;
    const std::string_view prefix = kReportPrefix;
    bool in_report = false;
    std::unordered_set<std::string> seen;  // the current report's lines with their stamps
    std::string last_alive;         // the last ALIVE line with its stamp
    std::string begin_key;          // the last begin line with its stamp
    for (const TaggedLine& tl : lines) {
        std::string_view line = tl.text;
        std::string key = tl.stamp + tl.text;
        std::string_view body = line.substr(prefix.size());
        bool begin = body.substr(0, kBegin.size()) == kBegin;
        if (begin && !tl.stamp.empty() && key == begin_key) {  // its begin line, received twice
            ++r.duplicates;
            continue;
        }
        if (begin) {
            // A new report: the last one counts.
            begin_key = key;
            r = ConsoleReport{};
            r.verdict = ConsoleVerdict::kTruncated;
            r.from_kernel_log = kernel;
            in_report = true;
            seen.clear();
            last_alive.clear();
        }
        if (!in_report) {
            // haltfw-inert's line, once after a complete machine line.
            if (!r.machine_line.empty() && r.inert_line.empty() && body.substr(0, kInert.size()) == kInert) {
                r.inert_line = std::string(body);
                r.inert_fields = Fields(body);
            }
            // Its heartbeat, as many as came; a line just like the one
            // before is its copy (a datagram that came twice, or a console
            // that shows unstamped kernel messages), not a beat.
            if (!r.machine_line.empty() && body.substr(0, kAlive.size()) == kAlive && key != last_alive) {
                ++r.alive_count;
                r.last_alive = std::string(body);
                last_alive = key;
            }
            continue;
        }
        // A line the kernel stamped that came before, stamp and all, is a
        // datagram that came twice: left out. An unstamped line that comes
        // again is kept, and named: it could stand for one that was lost
        // (WhyNotProven).
        if (!seen.insert(key).second) {
            if (!tl.stamp.empty()) {
                ++r.duplicates;
                continue;
            }
            if (r.repeated.empty()) r.repeated = std::string(body);
        }
        r.lines.emplace_back(line);
        bool ok = body.substr(0, 10) == "HALTED-OK " || body == "HALTED-OK";
        bool fail = body.substr(0, 12) == "HALTED-FAIL ";
        if (!ok && !fail) continue;
        r.machine_line = std::string(body);
        r.fields = Fields(body);
        in_report = false;
        // lines= counts the report's lines before the machine line; fewer
        // found means some were lost between the box and this log.
        std::string want = r.Field("lines");
        r.verdict = want == std::to_string(r.lines.size() - 1) ? (ok ? ConsoleVerdict::kOk : ConsoleVerdict::kFail)
                                                               : ConsoleVerdict::kTruncated;
    }
    return r;
}

// The longest write /dev/kmsg takes (LOG_LINE_MAX, kernel 6.1): the final
// stage's copy of a longer report line ("<6>", the line, "\n") is refused.
constexpr size_t kKmsgMax = 992;

// Whether the kernel's copies tell the same as the lines written directly:
// the same verdict and machine line; or a complete direct report whose
// copies lack only lines /dev/kmsg would have refused.
bool Agree(const ConsoleReport& direct, const ConsoleReport& copies) {
    if (direct.machine_line != copies.machine_line) return false;
    if (direct.verdict == copies.verdict) return true;
    if (direct.verdict == ConsoleVerdict::kTruncated || copies.verdict != ConsoleVerdict::kTruncated) return false;
    std::unordered_set<std::string_view> copied(copies.lines.begin(), copies.lines.end());
    size_t missing = 0;
    for (const std::string& l : direct.lines) {
        if (copied.count(l) != 0) continue;
        if (l.size() + 4 <= kKmsgMax) return false;
        ++missing;
    }
    return copies.lines.size() + missing == direct.lines.size();
}

// How a reading ends, for the disagreement's words.
std::string Ending(const ConsoleReport& r) {
    if (r.machine_line.empty()) return "no machine line";
    return "'" + r.machine_line + "'" + (r.verdict == ConsoleVerdict::kTruncated ? ", truncated" : "");
}

}  // namespace

ConsoleReport ParseConsole(std::string_view log) {
    // A console that shows the kernel's level-6 messages shows each line
    // twice: as written, and as the kernel log's copy after its stamp. The
    // written ones count then (the copies may lack a line too long for
    // /dev/kmsg); a log with none (a netconsole capture) is read from the
    // copies. A raw capture can hold unstamped lines that anyone on the
    // path sent: the copies must then tell the same, or nothing is proven.
    std::vector<TaggedLine> direct = HaltfwLines(log, false);
    std::vector<TaggedLine> copies = HaltfwLines(log, true);
    if (direct.empty()) return ReadReport(copies, true);
    ConsoleReport r = ReadReport(direct, false);
    if (copies.empty()) return r;
    ConsoleReport k = ReadReport(copies, true);
    if (Agree(r, k)) return r;
    ConsoleReport& shown = r.verdict == ConsoleVerdict::kAbsent ? k : r;
    shown.disagreement = "the lines written directly and the kernel's copies of them disagree (written: " + Ending(r) +
                         "; copies: " + Ending(k) + ")";
    return shown;
}

namespace {

// The bytes of a pcap file, read as it says: its byte order, bounds checked.
struct PcapReader {
    std::string_view b;
    bool swap = false;

    uint32_t U32(size_t at) const {
        auto c = [&](size_t i) { return static_cast<uint32_t>(static_cast<unsigned char>(b[at + i])); };
        return swap ? c(0) << 24 | c(1) << 16 | c(2) << 8 | c(3) : c(3) << 24 | c(2) << 16 | c(1) << 8 | c(0);
    }
};

// Network byte order, `at` within `p`.
unsigned Be16(std::string_view p, size_t at) {
    return static_cast<unsigned>(static_cast<unsigned char>(p[at])) << 8 | static_cast<unsigned char>(p[at + 1]);
}

// A UDP datagram in a capture.
struct Datagram {
    std::string_view payload;
    std::string sender;  ///< "192.0.2.1 port 6665"
};

// The sender of a datagram: its source address (`len` bytes at `at` in
// `ip`) and port.
std::string Sender(std::string_view ip, size_t at, size_t len, unsigned port) {
    char addr[INET6_ADDRSTRLEN] = "?";
    (void)inet_ntop(len == 4 ? AF_INET : AF_INET6, ip.data() + at, addr, sizeof addr);
    return std::string(addr) + " port " + std::to_string(port);
}

// The UDP datagram of an IP packet (IPv4 or IPv6, by its version); false
// for anything else, and for a fragment (netconsole's datagrams fit a
// frame: one that did not is lost, and the report with it is truncated).
bool UdpOf(std::string_view ip, Datagram* d) {
    if (ip.empty()) return false;
    size_t off = 0, end = 0;
    unsigned proto = 0;
    const size_t addr_len = (static_cast<unsigned char>(ip[0]) >> 4) == 4 ? 4 : 16;
    const size_t addr_at = addr_len == 4 ? 12 : 8;
    if ((static_cast<unsigned char>(ip[0]) >> 4) == 4) {
        if (ip.size() < 20) return false;
        off = (static_cast<unsigned char>(ip[0]) & 0x0f) * 4u;
        end = std::min<size_t>(Be16(ip, 2), ip.size());  // the frame may be padded
        proto = static_cast<unsigned char>(ip[9]);
        if ((Be16(ip, 6) & 0x3fff) != 0) return false;  // more fragments, or not the first
    } else if ((static_cast<unsigned char>(ip[0]) >> 4) == 6) {
        if (ip.size() < 40) return false;
        off = 40;
        end = std::min<size_t>(40 + Be16(ip, 4), ip.size());
        proto = static_cast<unsigned char>(ip[6]);
        // Hop-by-hop, routing and destination options come before UDP.
        while ((proto == 0 || proto == 43 || proto == 60) && off + 8 <= end) {
            proto = static_cast<unsigned char>(ip[off]);
            off += (static_cast<unsigned char>(ip[off + 1]) + 1u) * 8;
        }
    } else {
        return false;
    }
    if (proto != 17 || off + 8 > end) return false;
    size_t udp_end = std::min(end, off + Be16(ip, off + 4));
    if (udp_end < off + 8) return false;
    d->payload = ip.substr(off + 8, udp_end - off - 8);
    d->sender = Sender(ip, addr_at, addr_len, Be16(ip, off));
    return true;
}

// netconsole sends a record longer than this in chunks of it
// (MAX_PRINT_CHUNK, drivers/net/netconsole.c, 6.1), only the last ending
// the line.
constexpr size_t kNetconsoleChunk = 1000;

// "A, B and C".
std::string AndList(const std::vector<std::string>& items) {
    std::string s;
    for (size_t i = 0; i < items.size(); ++i)
        s += (i == 0 ? "" : i + 1 == items.size() ? " and " : ", ") + items[i];
    return s;
}

// The IP packet in a captured frame of link type `link`; empty if the
// frame holds none.
std::string_view IpOf(std::string_view f, uint32_t link) {
    size_t at = 0;
    unsigned type = 0;
    switch (link) {
        case 1:  // Ethernet, 802.1Q/802.1ad tags skipped
            if (f.size() < 14) return {};
            at = 12;
            type = Be16(f, at);
            while ((type == 0x8100 || type == 0x88a8) && at + 6 <= f.size()) {
                at += 4;
                type = Be16(f, at);
            }
            at += 2;
            break;
        case 113:  // Linux cooked (tcpdump -i any)
            if (f.size() < 16) return {};
            type = Be16(f, 14);
            at = 16;
            break;
        case 276:  // Linux cooked v2
            if (f.size() < 20) return {};
            type = Be16(f, 0);
            at = 20;
            break;
        default:  // raw IP (101, 12, 228, 229) or BSD loopback (0): the version decides
            at = link == 0 ? 4 : 0;
            if (at >= f.size()) return {};
            return f.substr(at);
    }
    if (type != 0x0800 && type != 0x86dd) return {};
    return f.substr(std::min(at, f.size()));
}

bool KnownLink(uint32_t link) {
    for (uint32_t l : {0u, 1u, 12u, 101u, 113u, 228u, 229u, 276u})
        if (link == l) return true;
    return false;
}

}  // namespace

bool CaptureText(std::string_view file, std::string* text, std::string* err) {
    PcapReader r{file};
    uint32_t magic = file.size() >= 4 ? r.U32(0) : 0;
    if (magic == 0x0a0d0d0a) {
        *err = "a pcapng capture: give verify-console classic pcap (tcpdump -w writes it; editcap -F pcap converts)";
        return false;
    }
    bool pcap = magic == 0xa1b2c3d4 || magic == 0xa1b23c4d;
    r.swap = magic == 0xd4c3b2a1 || magic == 0x4d3cb2a1;
    if (!pcap && !r.swap) {
        *text = std::string(file);
        return true;
    }
    if (file.size() < 24) {
        *err = "a pcap capture cut short in its header";
        return false;
    }
    uint32_t link = r.U32(20) & 0x0fffffff;  // the top bits tell of FCS
    if (!KnownLink(link)) {
        *err = "a pcap capture of link type " + std::to_string(link) +
               ", not one verify-console reads (Ethernet, Linux cooked, raw IP, loopback)";
        return false;
    }
    // Each sender's payloads apart, in the order first heard: a datagram
    // from anyone else on the path can carry a report as well formed as
    // the box's.
    std::map<std::string, std::string> by_sender;
    std::vector<std::string> order;
    int n = 0;
    for (size_t at = 24; at < file.size(); ++n) {
        uint32_t incl = at + 16 <= file.size() ? r.U32(at + 8) : 0;
        if (at + 16 > file.size() || incl > file.size() - at - 16) {
            *err = "a pcap capture cut short in packet " + std::to_string(n + 1) + " (at byte " + std::to_string(at) + ")";
            return false;
        }
        Datagram d;
        if (UdpOf(IpOf(file.substr(at + 16, incl), link), &d)) {
            auto [it, added] = by_sender.try_emplace(d.sender);
            if (added) order.push_back(d.sender);
            it->second.append(d.payload.data(), d.payload.size());
            // A datagram ends its line: two never join into one, but for
            // the chunks of a line netconsole cut.
            if (!d.payload.empty() && d.payload.back() != '\n' && d.payload.size() != kNetconsoleChunk)
                it->second += '\n';
        }
        at += 16 + incl;
    }
    std::vector<std::string> reporting;
    for (const std::string& s : order)
        if (by_sender[s].find(kReportPrefix) != std::string::npos) reporting.push_back(s);
    if (reporting.size() > 1) {
        *err = "report lines (HALTFW:) from " + std::to_string(reporting.size()) + " senders, " + AndList(reporting) +
               ": capture the box's datagrams alone (tcpdump -w FILE 'src host ADDRESS and udp src port PORT', "
               "netconsole's source port: 6665 unless set)";
        return false;
    }
    text->clear();
    if (!reporting.empty()) *text = std::move(by_sender[reporting.front()]);
    return true;
}

bool IsDigestHex(std::string_view s) {
    return s.size() == 64 && s.find_first_not_of("0123456789abcdef") == std::string_view::npos;
}

namespace {

// What the final stage writes into a body line only where a step failed
// (haltfw_final.cc, final_stage.cc): "; FAILED: ...", the watcher's
// "restore FAILED", "restore failed: ...", "LEFT: ...", "STILL ON",
// "STILL DIFFERENT", "forwarding: turned OFF", "cannot read ...". Its own
// machine line ignores the watcher's failures (the final stage put the
// ruleset back after them), but the body still tells of a shutdown that
// went wrong: such a report is not accepted either.
constexpr std::string_view kFailureWords[] = {"FAILED", "failed", "LEFT:", "STILL ", "turned OFF", "cannot "};

// A report line as ParseConsole keeps it, without the prefix.
std::string_view Body(std::string_view line) {
    return line.starts_with(kReportPrefix) ? line.substr(std::string_view(kReportPrefix).size()) : line;
}

// The first body line (between the begin line and the machine line) that
// reports a failure; empty if none does. The 'pstore:' line is not judged:
// it quotes the kernel's log of a crash before this boot ("... failed to
// ..."), and whatever that says, this halt went as the other lines say.
std::string_view FailingLine(const ConsoleReport& r) {
    for (size_t i = 1; i + 1 < r.lines.size(); ++i) {
        if (Body(r.lines[i]).starts_with("pstore: ")) continue;
        for (std::string_view w : kFailureWords)
            if (Body(r.lines[i]).find(w) != std::string_view::npos) return Body(r.lines[i]);
    }
    return {};
}

// The body's 'ruleset:' line; empty if none.
std::string_view RulesetLine(const ConsoleReport& r) {
    for (size_t i = 1; i + 1 < r.lines.size(); ++i)
        if (Body(r.lines[i]).starts_with("ruleset: ")) return Body(r.lines[i]);
    return {};
}

}  // namespace

std::string WhyNotProven(const ConsoleReport& r, std::string_view armed_digest) {
    if (!r.disagreement.empty()) return r.disagreement;
    if (r.verdict != ConsoleVerdict::kOk) return "the report is not a complete HALTED-OK report";
    // Its count is right only if another line was lost: which one is unknown.
    if (!r.repeated.empty())
        return "the report has the line '" + r.repeated + "' twice (its count matches, so another line is missing)";
    std::string digest = r.Field("digest");
    if (digest.empty()) return "the report has no digest";
    if (!IsDigestHex(digest)) return "the report's digest '" + digest + "' is not 64 lowercase hex digits";
    if (!armed_digest.empty() && digest != armed_digest)
        return "the report's digest '" + digest + "' is not the armed digest '" + std::string(armed_digest) + "'";
    if (std::string_view bad = FailingLine(r); !bad.empty()) return "the report's body says '" + std::string(bad) + "'";
    std::string_view ruleset = RulesetLine(r);
    if (ruleset.empty()) return "the report has no 'ruleset:' line";
    // "digest D as armed (N objects)", or "... restored from the manifest:
    // now D as armed": the body and the machine line name one ruleset.
    if (ruleset.find(digest + " as armed") == std::string_view::npos)
        return "the report's 'ruleset:' line does not say '" + digest + " as armed'";
    return "";
}

}  // namespace haltfw
