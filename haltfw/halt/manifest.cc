#include "halt/manifest.h"

#include <fcntl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstdint>
#include <cstring>
#include <functional>
#include <map>
#include <memory>
#include <tuple>

#include "base/quote.h"
#include "nft/sha256.h"
#include "net/netstate.h"
#include "net/sysctl.h"

namespace haltfw {
namespace {

const char kHex[] = "0123456789abcdef";

void AppendHex(std::string_view bytes, std::string* out) {
    size_t at = out->size();
    out->resize(at + 2 * bytes.size());
    char* p = out->data() + at;
    for (unsigned char c : bytes) {
        *p++ = kHex[c >> 4];
        *p++ = kHex[c & 15];
    }
}

int HexDigit(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return -1;
}

bool Unhex(std::string_view hex, std::string* out) {
    if (hex.size() % 2) return false;
    out->resize(hex.size() / 2);
    char* p = out->data();
    for (size_t i = 0; i < hex.size(); i += 2) {
        int hi = HexDigit(hex[i]), lo = HexDigit(hex[i + 1]);
        if (hi < 0 || lo < 0) return false;
        *p++ = static_cast<char>(hi << 4 | lo);
    }
    return true;
}

// "-" stands for an empty field, so that every record has its fixed number
// of space-separated words.
void AppendHexField(std::string_view s, std::string* out) {
    if (s.empty()) *out += '-';
    else AppendHex(s, out);
}
bool UnhexField(std::string_view f, std::string* out) {
    if (f == "-") {
        out->clear();
        return true;
    }
    return Unhex(f, out);
}
// The same check, for a field whose bytes are not kept.
bool IsHexField(std::string_view f) {
    if (f == "-") return true;
    if (f.size() % 2) return false;
    return std::all_of(f.begin(), f.end(), [](char c) { return HexDigit(c) >= 0; });
}

// The space-separated words of a line (an empty one between two spaces
// counts), the first `max` of them into `words`; returns how many in all.
size_t Split(std::string_view line, std::string_view* words, size_t max) {
    size_t n = 0, i = 0;
    for (;;) {
        size_t sp = line.find(' ', i);
        if (sp == std::string_view::npos) sp = line.size();
        if (n < max) words[n] = line.substr(i, sp - i);
        ++n;
        if (sp == line.size()) return n;
        i = sp + 1;
    }
}

template <typename T>
bool Number(std::string_view s, T* v) {
    auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), *v);
    return ec == std::errc() && p == s.data() + s.size();
}

// Longer than any line haltfw writes: an object's payload is one netlink
// message of a dump (32 KiB at most), 64 KiB in hex.
constexpr size_t kMaxLine = 1 << 20;
constexpr size_t kPiece = 64 * 1024;  // read and write size

std::string Header() { return "haltfw-manifest " + std::to_string(kManifestFormat); }

// A manifest's text, fed in pieces of any size and parsed a line at a time:
// each line hashed for the 'end' checksum as it passes, parsed, and
// forgotten. It refuses what ParseManifest on the whole text refused, with
// the same message: a missing or wrong checksum before anything else (a
// damaged file says so, not which of its lines broke), then the format line,
// then the first bad record.
//
// The 'end' line is the last line that starts with "end " (not the
// first line), and it must be the last line of the file, so a line that
// starts so is held back until the next one shows it was not the last.
class Reader {
public:
    explicit Reader(ManifestRuleset what) : keep_(what == ManifestRuleset::kRead) {}

    void Feed(std::string_view bytes) {
        while (!bytes.empty()) {
            if (at_line_start_) {
                line_start_ = body_;  // the checksum of everything before this line
                line_.clear();
                line_len_ = 0;
                at_line_start_ = false;
            }
            size_t nl = bytes.find('\n');
            size_t take = nl == std::string_view::npos ? bytes.size() : nl + 1;
            body_.Update(bytes.data(), take);
            std::string_view part = bytes.substr(0, nl == std::string_view::npos ? take : nl);
            if (line_.size() < kMaxLine) line_.append(part.substr(0, kMaxLine - line_.size()));
            line_len_ += part.size();
            bytes.remove_prefix(take);
            if (nl != std::string_view::npos) {
                LineDone();
                at_line_start_ = true;
            }
        }
    }

    // Decides, once the text has ended. On success *m gets the manifest.
    bool Finish(Manifest* m, std::string* err) {
        bool tail = !at_line_start_;  // a last line without '\n'
        bool end_is_last = false;
        std::string_view value;
        Sha256 before;
        if (tail) {
            if (held_) Process(held_line_, held_lineno_, false);  // not the last line after all
            end_is_last = lines_ > 0 && IsEnd(line_);
            value = std::string_view(line_).substr(std::min<size_t>(4, line_.size()));
            before = line_start_;
            saw_end_ |= end_is_last;
        } else {
            end_is_last = held_;
            value = std::string_view(held_line_).substr(std::min<size_t>(4, held_line_.size()));
            before = held_start_;
        }
        if (!saw_end_) {
            *err = "manifest: no 'end' line (truncated?)";
            return false;
        }
        if (!end_is_last || (tail ? line_len_ : held_len_) > kMaxLine || before.HexFinal() != value) {
            *err = "manifest: checksum mismatch (corrupted or truncated)";
            return false;
        }
        if (!header_ok_) {
            *err = "manifest: unsupported format '" + first_line_ + "' (this haltfw reads '" + Header() + "')";
            return false;
        }
        if (!error_.empty()) {
            *err = "manifest: " + error_;
            return false;
        }
        if (m_.digest.size() != 64) {
            *err = "manifest: no ruleset digest";
            return false;
        }
        checksum_ = std::string(value);
        SortElements(&m_.ruleset);  // a manifest's are in canonical order: one pass
        *m = std::move(m_);
        return true;
    }

    /// The 'end' line's checksum, once Finish succeeded.
    const std::string& checksum() const { return checksum_; }

private:
    static bool IsEnd(std::string_view line) { return line.starts_with("end "); }

    void LineDone() {
        ++lines_;
        if (held_) {
            Process(held_line_, held_lineno_, false);  // an "end " line that was not the last
            held_ = false;
        }
        if (lines_ > 1 && IsEnd(line_)) {
            saw_end_ = true;
            held_ = true;
            held_line_ = line_;
            held_lineno_ = lines_;
            held_len_ = line_len_;
            held_start_ = line_start_;
            return;
        }
        Process(line_, lines_, line_len_ > kMaxLine);
    }

    // One line of the body: the format line, or a record.
    void Process(std::string_view line, size_t lineno, bool overlong) {
        if (lineno == 1) {
            first_line_ = line;
            header_ok_ = !overlong && line == Header();
            return;
        }
        if (!header_ok_ || !error_.empty()) return;  // refused already: hashing alone from here
        std::string why = overlong ? "longer than " + std::to_string(kMaxLine) + " bytes" : Record(line);
        if (!why.empty()) error_ = "line " + std::to_string(lineno) + ": " + why;
    }

    // One record. Returns "" when fine, else what is wrong with it.
    bool IsWireguardName(std::string_view name) const {
        return std::any_of(m_.wireguard.begin(), m_.wireguard.end(), [&](const WgDevice& d) { return d.name == name; });
    }

    std::string Record(std::string_view line) {
        std::string_view w[7];
        size_t n = Split(line, w, 7);
        const std::string_view k = w[0];
        Manifest* m = &m_;
        if (k == "version" && n == 2) m->version = w[1];
        else if (k == "digest" && n == 2) m->digest = w[1];
        else if (k == "generation" && n == 4) {
            RulesetStamp st{std::string(w[1]), 0, 0};
            bool id_ok = !st.boot_id.empty() && st.boot_id.size() <= 64 &&
                         std::all_of(st.boot_id.begin(), st.boot_id.end(),
                                     [](char c) { return c == '-' || HexDigit(c) >= 0; });
            if (!id_ok || !Number(w[2], &st.netns) || !Number(w[3], &st.generation) || st.netns == 0 ||
                st.generation == 0)
                return "bad generation record";
            m->armed_at = st;
        }
        else if (k == "ctrl-alt-del" && n == 2) m->ctrl_alt_del = w[1];
        else if (k == "sysrq" && n == 2) {
            if (!Number(w[1], &m->sysrq)) return "bad sysrq";
        } else if (k == "heartbeat" && n == 2) {
            if (!Number(w[1], &m->heartbeat_s) || m->heartbeat_s < 1) return "bad heartbeat";
        } else if (k == "netconsole" && n == 6) {
            NetconsoleTarget t{std::string(w[1]), std::string(w[2]), std::string(w[3]), std::string(w[4]),
                               std::string(w[5])};
            unsigned port = 0;
            if (!ParseIpAddr(t.local_ip) || !ParseIpAddr(t.remote_ip) || !Number(w[4], &port) || port < 1 ||
                port > 65535 || !ParseMac(t.remote_mac))
                return "bad netconsole record";
            m->netconsole = std::move(t);
        } else if (k == "pstore" && n >= 2) {
            // Free text to the end of the line, printed as it is.
            std::string_view text = line.substr(7);
            if (text.empty() || text.size() > kMaxPstoreLine ||
                !std::all_of(text.begin(), text.end(), [](char c) { return c >= 0x20 && c < 0x7f; }))
                return "bad pstore record";
            m->pstore = text;
        } else if (k == "link" && n == 3) {
            if (!ValidLinkName(w[2])) return "bad link name";
            for (const ManifestLink& l : m->links)
                if (l.name == w[2]) return "link " + std::string(w[2]) + " twice";
            m->links.push_back({std::string(w[1]), std::string(w[2]), {}});
        } else if (k == "address" && n == 3) {
            if (m->links.empty() || m->links.back().name != w[1]) return "address before its link";
            std::string err;
            auto p = ParsePrefix(w[2], true, &err);
            if (!p) return "address: " + err;
            m->links.back().addresses.push_back(*p);
        } else if (k == "mtu" && n == 3) {
            if (m->links.empty() || m->links.back().name != w[1]) return "mtu before its link";
            if (!Number(w[2], &m->links.back().mtu) || m->links.back().mtu == 0) return "bad mtu";
        } else if (k == "route" && n == 5) {
            if (m->links.empty() || m->links.back().name != w[1]) return "route before its link";
            ManifestRoute r;
            std::string err;
            auto dst = ParsePrefix(w[2], true, &err);
            if (!dst || dst->network() != *dst) return "bad route destination";
            r.dst = *dst;
            if (w[3] != "-") {
                r.via = ParseIpAddr(w[3]);
                if (!r.via || r.via->family != r.dst.addr.family) return "bad route gateway";
            }
            if (!Number(w[4], &r.metric)) return "bad route metric";
            m->links.back().routes.push_back(r);
        } else if (k == "wireguard" && n == 5) {
            return Wireguard(w);
        } else if (k == "wgpeer" && n == 7) {
            return WgPeerRecord(w);
        } else if (k == "port" && n == 3) {
            if (m->links.empty() || m->links.back().name != w[1]) return "port before its bridge's link";
            if (!ValidLinkName(w[2])) return "bad port name";
            m->links.back().ports.emplace_back(w[2]);
        } else if (k == "silent" && n == 2) {
            if (m->links.empty() || m->links.back().name != w[1]) return "silent before its bridge's link";
            m->links.back().silent = true;
        } else if (k == "bridge" && n == 5) {
            if (m->links.empty() || m->links.back().name != w[1]) return "bridge before its link";
            ManifestLink& l = m->links.back();
            if (IsWireguardName(w[1])) return "bridge " + std::string(w[1]) + " is a wireguard device too";
            Link::BridgeOptions o;
            unsigned snooping = 0;
            // STP stays off on a halted bridge (on, the kernel would start
            // a usermode helper), and ageing 0 would make it a hub.
            if (l.bridge || !l.vlan_parent.empty() || !Number(w[2], &o.stp_state) || o.stp_state != 0 ||
                !Number(w[3], &o.ageing_centis) || o.ageing_centis == 0 || !Number(w[4], &snooping) || snooping > 1)
                return "bad bridge record";
            o.mcast_snooping = static_cast<uint8_t>(snooping);
            l.bridge = o;
        } else if (k == "vlan" && n == 4) {
            if (m->links.empty() || m->links.back().name != w[1]) return "vlan before its link";
            ManifestLink& l = m->links.back();
            if (IsWireguardName(w[1])) return "vlan " + std::string(w[1]) + " is a wireguard device too";
            unsigned id = 0;
            if (l.bridge || !l.vlan_parent.empty() || !l.ports.empty() || l.silent || !ValidLinkName(w[2]) ||
                w[2] == w[1] || !Number(w[3], &id) || id < 1 || id > 4094)
                return "bad vlan record";
            l.vlan_parent = w[2];
            l.vlan_id = static_cast<uint16_t>(id);
        } else if (k == "ifindex" && n == 3) {
            if (m->links.empty() || m->links.back().name != w[1]) return "ifindex before its link";
            if (m->links.back().ifindex || !Number(w[2], &m->links.back().ifindex) || m->links.back().ifindex < 1)
                return "bad ifindex record";
        } else if (k == "sysctl" && n == 3) {
            // The final stage writes these as PID 1: a key outside net.*, or
            // one that is a path ("net.//.kernel..."), refuses the manifest.
            std::string value, why;
            if (!CheckSysctlKey(w[1], &why)) return "sysctl key " + QuoteValue(w[1]) + ": " + why;
            if (!UnhexField(w[2], &value)) return "bad hex in sysctl value";
            m->sysctls.emplace_back(w[1], value);
        } else if (k == "object" && n == 6) {
            return Object(w);
        } else {
            return "unknown record '" + std::string(k) + "'";
        }
        return "";
    }

    // "wireguard NAME PRIVATE-KEY-HEX PORT FWMARK". The key's text is wiped
    // from the line once read (a best effort: the file's pieces, read
    // before, are the caller's).
    std::string Wireguard(std::string_view* w) {
        WgDevice d;
        d.name = w[1];
        WgKey k{};
        bool key_ok = UnhexKey(w[2], &k);
        if (key_ok) d.private_key = WgSecret(k);
        WipeBytes(k.data(), k.size());
        WipeBytes(const_cast<char*>(w[2].data()), w[2].size());
        if (!key_ok || IsZeroKey(d.private_key->key())) return "bad wireguard private key";
        if (!ValidLinkName(d.name) || !Number(w[3], &d.listen_port) || !Number(w[4], &d.fwmark)) return "bad wireguard record";
        for (const WgDevice& o : m_.wireguard)
            if (o.name == d.name) return "wireguard device " + d.name + " twice";
        for (const ManifestLink& l : m_.links)
            if (l.name == d.name && (l.bridge || !l.vlan_parent.empty()))
                return "wireguard device " + d.name + " is a bridge or VLAN too";
        m_.wireguard.push_back(std::move(d));
        return "";
    }

    // "wgpeer NAME PUBLIC-KEY-HEX PSK-HEX|- ENDPOINT|- KEEPALIVE IP,IP|-".
    std::string WgPeerRecord(std::string_view* w) {
        if (m_.wireguard.empty() || m_.wireguard.back().name != w[1]) return "wgpeer before its wireguard device";
        WgPeer p;
        if (!UnhexKey(w[2], &p.public_key)) return "bad wgpeer public key";
        if (w[3] != "-") {
            WgKey k{};
            bool ok = UnhexKey(w[3], &k);
            if (ok) p.preshared_key = WgSecret(k);
            WipeBytes(k.data(), k.size());
            WipeBytes(const_cast<char*>(w[3].data()), w[3].size());
            if (!ok) return "bad wgpeer preshared key";
        }
        if (w[4] != "-") {
            // "198.51.100.7:51820" or "[2001:db8::7]:51820".
            std::string_view e = w[4];
            size_t colon = e.rfind(':');
            if (colon == std::string_view::npos) return "bad wgpeer endpoint";
            // Brackets for IPv6 and only there, as FormatWgEndpoint writes it.
            std::string_view host = e.substr(0, colon);
            bool bracketed = host.size() > 2 && host.front() == '[' && host.back() == ']';
            if (bracketed) host = host.substr(1, host.size() - 2);
            std::optional<IpAddr> a = ParseIpAddr(host);
            uint16_t port = 0;
            if (!a || bracketed != (a->family == AF_INET6) || !Number(e.substr(colon + 1), &port) || port == 0)
                return "bad wgpeer endpoint";
            p.endpoint = WgEndpoint{*a, port};
        }
        if (!Number(w[5], &p.keepalive_s)) return "bad wgpeer keepalive";
        if (w[6] != "-") {
            // Items separated by single commas, none empty, none twice.
            for (std::string_view rest = w[6];;) {
                size_t comma = rest.find(',');
                auto ip = ParsePrefix(rest.substr(0, comma), true);
                if (!ip || ip->network() != *ip) return "bad wgpeer allowed IP";
                p.allowed_ips.push_back(*ip);
                if (comma == std::string_view::npos) break;
                rest = rest.substr(comma + 1);
            }
            std::vector<Prefix> sorted = p.allowed_ips;
            std::sort(sorted.begin(), sorted.end());
            if (std::adjacent_find(sorted.begin(), sorted.end()) != sorted.end()) return "wgpeer allowed IP twice";
        }
        WgDevice& d = m_.wireguard.back();
        if (FindWgPeer(d, p.public_key)) return "wgpeer " + EncodeWgKey(p.public_key) + " twice";
        d.peers.push_back(std::move(p));
        return "";
    }

    static bool IsZeroKey(const WgKey& k) {
        return std::all_of(k.begin(), k.end(), [](uint8_t b) { return b == 0; });
    }

    static bool UnhexKey(std::string_view hex, WgKey* k) {
        if (hex.size() != 2 * kWgKeyLen) return false;
        for (size_t i = 0; i < kWgKeyLen; ++i) {
            int hi = HexDigit(hex[2 * i]), lo = HexDigit(hex[2 * i + 1]);
            if (hi < 0 || lo < 0) return false;
            (*k)[i] = static_cast<uint8_t>(hi << 4 | lo);
        }
        return true;
    }

    // "object KIND FAMILY TABLE NAME PAYLOAD". An element goes to its set's
    // group; the elements of one set come one after another, so the group
    // of the line before is tried first.
    std::string Object(const std::string_view* w) {
        unsigned kind = 0, family = 0;
        if (!Number(w[1], &kind) || kind < 1 || kind > 7 || !Number(w[2], &family) || family > 255)
            return "bad object kind or family";
        if (!keep_) return IsHexField(w[3]) && IsHexField(w[4]) && IsHexField(w[5]) ? "" : "bad hex in object";
        if (static_cast<NftKind>(kind) != NftKind::kSetElem) {
            NftObject o;
            o.kind = static_cast<NftKind>(kind);
            o.family = static_cast<uint8_t>(family);
            if (!UnhexField(w[3], &o.table) || !UnhexField(w[4], &o.name) || !UnhexField(w[5], &o.payload))
                return "bad hex in object";
            m_.ruleset.objects.push_back(std::move(o));
            return "";
        }
        std::vector<NftElements>& groups = m_.ruleset.elements;
        bool same_set = family == group_family_ && w[3] == group_table_hex_ && w[4] == group_set_hex_;
        if (!same_set || group_ >= groups.size()) {
            std::string table, set;
            if (!UnhexField(w[3], &table) || !UnhexField(w[4], &set)) return "bad hex in object";
            auto [it, added] = groups_.try_emplace({static_cast<uint8_t>(family), table, set}, groups.size());
            if (added) groups.emplace_back(static_cast<uint8_t>(family), table, set);
            group_ = it->second;
            group_family_ = family;
            group_table_hex_ = w[3];
            group_set_hex_ = w[4];
        }
        if (!UnhexField(w[5], &scratch_)) return "bad hex in object";
        if (!groups[group_].Add(scratch_)) return "an element over 65535 bytes, or a set over 4 GiB (NftElements::Add)";
        return "";
    }

    bool keep_;
    Manifest m_;
    Sha256 body_;        // every byte so far
    Sha256 line_start_;  // every byte before the current line
    std::string line_;   // the current line, its first kMaxLine bytes
    size_t line_len_ = 0;
    bool at_line_start_ = true;
    size_t lines_ = 0;   // lines ended by '\n'
    bool saw_end_ = false;
    // The last line ended, if it starts with "end ", not yet processed.
    bool held_ = false;
    std::string held_line_;
    size_t held_lineno_ = 0, held_len_ = 0;
    Sha256 held_start_;
    std::string first_line_;
    bool header_ok_ = false;
    std::string error_;  // the first bad record: "line 7: ..."
    std::string checksum_;
    // The element group of the last element line, and every group by set.
    size_t group_ = SIZE_MAX;
    unsigned group_family_ = 0;
    std::string group_table_hex_, group_set_hex_;
    std::map<std::tuple<uint8_t, std::string, std::string>, size_t> groups_;
    std::string scratch_;
};

// Writes a manifest's text to `sink` in pieces of about kPiece bytes,
// hashing them for the 'end' line. False once the sink fails.
bool WriteManifest(const Manifest& m, const std::function<bool(std::string_view)>& sink) {
    std::string buf;
    buf.reserve(kPiece + 1024);
    Sha256 h;
    bool ok = true;
    auto flush = [&] {
        h.Update(buf);
        ok = ok && sink(buf);
        buf.clear();
    };
    auto line_done = [&] {
        buf += '\n';
        if (buf.size() >= kPiece) flush();
    };
    buf += Header() + "\n";
    buf += "version " + m.version + "\n";
    buf += "digest " + m.digest + "\n";
    if (m.armed_at.generation != 0)
        buf += "generation " + m.armed_at.boot_id + " " + std::to_string(m.armed_at.netns) + " " +
               std::to_string(m.armed_at.generation) + "\n";
    buf += "ctrl-alt-del " + m.ctrl_alt_del + "\n";
    buf += "sysrq " + std::to_string(m.sysrq) + "\n";
    if (m.heartbeat_s > 0) buf += "heartbeat " + std::to_string(m.heartbeat_s) + "\n";
    if (const auto& nc = m.netconsole)
        buf += "netconsole " + nc->dev + " " + nc->local_ip + " " + nc->remote_ip + " " + nc->remote_port + " " +
               nc->remote_mac + "\n";
    if (!m.pstore.empty()) {
        // Only what the reader takes: a line it refused would make the
        // whole manifest invalid, and the halt an ordinary one.
        buf += "pstore ";
        for (char c : std::string_view(m.pstore).substr(0, kMaxPstoreLine)) buf += c >= 0x20 && c < 0x7f ? c : '?';
        buf += "\n";
    }
    for (const ManifestLink& l : m.links) {
        buf += "link " + l.role + " " + l.name + "\n";
        for (const Prefix& p : l.addresses) buf += "address " + l.name + " " + FormatPrefix(p) + "\n";
        if (l.mtu) buf += "mtu " + l.name + " " + std::to_string(l.mtu) + "\n";
        for (const ManifestRoute& r : l.routes)
            buf += "route " + l.name + " " + FormatPrefix(r.dst) + " " + (r.via ? FormatIp(*r.via) : "-") + " " +
                   std::to_string(r.metric) + "\n";
        for (const std::string& p : l.ports) buf += "port " + l.name + " " + p + "\n";
        if (l.silent) buf += "silent " + l.name + "\n";
        if (const auto& o = l.bridge)
            buf += "bridge " + l.name + " " + std::to_string(o->stp_state) + " " + std::to_string(o->ageing_centis) +
                   " " + std::to_string(o->mcast_snooping) + "\n";
        if (!l.vlan_parent.empty())
            buf += "vlan " + l.name + " " + l.vlan_parent + " " + std::to_string(l.vlan_id) + "\n";
        if (l.ifindex) buf += "ifindex " + l.name + " " + std::to_string(l.ifindex) + "\n";
    }
    // The keys in hex, a line at a time: each written and wiped at once, so
    // that no key is left behind in a block the buffer grew out of.
    auto secret_line_done = [&] {
        buf += '\n';
        flush();
        WipeBytes(buf.data(), buf.capacity());
    };
    for (const WgDevice& d : m.wireguard) {
        flush();
        auto key = [&](const WgKey& k) { AppendHex(std::string_view(reinterpret_cast<const char*>(k.data()), k.size()), &buf); };
        buf += "wireguard " + d.name + " ";
        if (d.private_key) key(d.private_key->key());
        else key(WgKey{});
        buf += " " + std::to_string(d.listen_port) + " " + std::to_string(d.fwmark);
        secret_line_done();
        for (const WgPeer& p : d.peers) {
            std::string ips;
            for (const Prefix& a : p.allowed_ips) ips += (ips.empty() ? "" : ",") + FormatPrefix(a);
            buf.reserve(ips.size() + 512);  // the whole line, before a key goes in
            buf += "wgpeer " + d.name + " ";
            key(p.public_key);
            buf += ' ';
            if (p.preshared_key) key(p.preshared_key->key());
            else buf += '-';
            buf += " " + (p.endpoint ? FormatWgEndpoint(*p.endpoint) : std::string("-")) + " " +
                   std::to_string(p.keepalive_s) + " ";
            buf += ips.empty() ? "-" : ips;
            secret_line_done();
        }
    }
    // Values may hold spaces (tcp_rmem): hex, like the object fields.
    for (const auto& [k, v] : m.sysctls) {
        buf += "sysctl " + k + " ";
        AppendHexField(v, &buf);
        line_done();
    }
    for (const NftRuleset::Entry& e : m.ruleset.CanonicalOrder()) {
        if (const NftObject* o = e.object) {
            buf += "object " + std::to_string(static_cast<int>(o->kind)) + " " + std::to_string(o->family) + " ";
            AppendHexField(o->table, &buf);
            buf += ' ';
            AppendHexField(o->name, &buf);
            buf += ' ';
            AppendHexField(o->payload, &buf);
            line_done();
            continue;
        }
        const NftElements& g = *e.elements;
        std::string head = "object " + std::to_string(static_cast<int>(NftKind::kSetElem)) + " " +
                           std::to_string(g.family) + " ";
        AppendHexField(g.table, &head);
        head += ' ';
        AppendHexField(g.set, &head);
        head += ' ';
        for (size_t i = 0; i < g.size(); ++i) {
            buf += head;
            AppendHexField(g[i], &buf);
            line_done();
        }
    }
    flush();
    buf = "end " + h.HexFinal() + "\n";
    return ok && sink(buf);
}

// Feeds a file to `reader` in pieces of kPiece bytes. False, with *err
// "read PATH: REASON", if it cannot be read.
bool ReadInPieces(const std::string& path, Reader* reader, std::string* err) {
    int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        *err = "read " + path + ": " + std::strerror(errno);
        return false;
    }
    std::unique_ptr<char[]> buf(new char[kPiece]);
    for (;;) {
        ssize_t n = read(fd, buf.get(), kPiece);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) {
            *err = "read " + path + ": " + std::strerror(errno);
            (void)close(fd);  // read-only: nothing to lose
            return false;
        }
        if (n == 0) break;
        reader->Feed(std::string_view(buf.get(), static_cast<size_t>(n)));
    }
    (void)close(fd);
    WipeBytes(buf.get(), kPiece);  // it held the WireGuard keys' lines
    return true;
}

}  // namespace

std::string WireguardDigest(const std::vector<WgDevice>& devices) {
    if (devices.empty()) return "";
    std::vector<std::string> texts;
    for (const WgDevice& d : devices) {
        std::string t = "wireguard " + d.name + " public-key " +
                        EncodeWgKey(d.private_key ? WgPublicKey(*d.private_key) : WgKey{}) + " listen-port " +
                        std::to_string(d.listen_port) + " fwmark " + std::to_string(d.fwmark) + "\n";
        std::vector<std::string> peers;
        for (const WgPeer& p : d.peers) {
            std::string psk = "none";
            if (p.preshared_key) {
                Sha256 h;
                h.Update("haltfw wireguard preshared key\n");
                h.Update(p.preshared_key->key().data(), kWgKeyLen);
                psk = h.HexFinal();
            }
            std::vector<Prefix> ips = p.allowed_ips;
            std::sort(ips.begin(), ips.end());
            std::string list;
            for (const Prefix& a : ips) list += (list.empty() ? "" : ",") + FormatPrefix(a);
            peers.push_back("peer " + EncodeWgKey(p.public_key) + " preshared-key " + psk + " endpoint " +
                            (p.endpoint ? FormatWgEndpoint(*p.endpoint) : "none") + " keepalive " +
                            std::to_string(p.keepalive_s) + " allowed-ips " + (list.empty() ? "none" : list) + "\n");
        }
        std::sort(peers.begin(), peers.end());
        for (const std::string& p : peers) t += p;
        texts.push_back(std::move(t));
    }
    std::sort(texts.begin(), texts.end());
    Sha256 h;
    for (const std::string& t : texts) h.Update(t);
    return h.HexFinal();
}

std::string SerializeManifest(const Manifest& m) {
    std::string s;
    WriteManifest(m, [&](std::string_view piece) {
        s += piece;
        return true;
    });
    return s;
}

bool ParseManifest(std::string_view text, Manifest* m, std::string* err) {
    Reader r(ManifestRuleset::kRead);
    r.Feed(text);
    return r.Finish(m, err);
}

bool WriteManifestFile(const std::string& path, const Manifest& m, std::string* err) {
    std::string tmp = path + ".tmp";
    // O_NOFOLLOW, and 0600 whatever a leftover temporary file had: the
    // manifest may hold WireGuard keys.
    int fd = open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0 || fchmod(fd, 0600) != 0) {
        *err = "write " + tmp + ": " + std::strerror(errno);
        if (fd >= 0) (void)close(fd);  // nothing written yet
        return false;
    }
    bool written = WriteManifest(m, [&](std::string_view piece) {
        while (!piece.empty()) {
            ssize_t n = write(fd, piece.data(), piece.size());
            if (n < 0 && errno == EINTR) continue;
            if (n <= 0) {
                *err = "write " + tmp + ": " + std::strerror(n < 0 ? errno : EIO);
                return false;
            }
            piece.remove_prefix(static_cast<size_t>(n));
        }
        return true;
    });
    if (!written) {
        (void)close(fd);
        unlink(tmp.c_str());
        return false;
    }
    if (fsync(fd) != 0 || close(fd) != 0 || rename(tmp.c_str(), path.c_str()) != 0) {
        *err = "write " + path + ": " + std::strerror(errno);
        unlink(tmp.c_str());
        return false;
    }
    return true;
}

bool ReadManifestFile(const std::string& path, Manifest* m, std::string* err, ManifestRuleset ruleset) {
    Reader r(ruleset);
    if (!ReadInPieces(path, &r, err)) return false;
    if (!r.Finish(m, err)) {
        *err = path + ": " + *err;
        return false;
    }
    if (ruleset == ManifestRuleset::kLeaveInFile) {
        m->ruleset_file = path;
        m->ruleset_checksum = r.checksum();
    }
    return true;
}

bool ReadManifestRuleset(const Manifest& m, NftRuleset* ruleset, std::string* err) {
    if (m.ruleset_file.empty()) {
        *ruleset = m.ruleset;
        return true;
    }
    Reader r(ManifestRuleset::kRead);
    Manifest again;
    if (!ReadInPieces(m.ruleset_file, &r, err)) return false;
    if (!r.Finish(&again, err)) {
        *err = m.ruleset_file + ": " + *err;
        return false;
    }
    if (r.checksum() != m.ruleset_checksum) {
        *err = m.ruleset_file + ": manifest: changed since it was read";
        return false;
    }
    *ruleset = std::move(again.ruleset);
    return true;
}

}  // namespace haltfw
