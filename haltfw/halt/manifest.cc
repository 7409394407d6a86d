#include "halt/manifest.h"

#include <fcntl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstring>

#include "base/quote.h"
#include "nft/sha256.h"
#include "net/sysctl.h"
#include "base/text_lines.h"

namespace haltfw {
namespace {

const char kHex[] = "0123456789abcdef";

std::string Hex(std::string_view bytes) {
    std::string out;
    out.reserve(bytes.size() * 2);
    for (unsigned char c : bytes) {
        out += kHex[c >> 4];
        out += kHex[c & 15];
    }
    return out;
}

int HexDigit(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return -1;
}

bool Unhex(std::string_view hex, std::string* out) {
    if (hex.size() % 2) return false;
    out->clear();
    out->reserve(hex.size() / 2);
    for (size_t i = 0; i < hex.size(); i += 2) {
        int hi = HexDigit(hex[i]), lo = HexDigit(hex[i + 1]);
        if (hi < 0 || lo < 0) return false;
        out->push_back(static_cast<char>(hi << 4 | lo));
    }
    return true;
}

// "-" stands for an empty field, so that every record has its fixed number
// of space-separated words.
std::string HexField(std::string_view s) { return s.empty() ? "-" : Hex(s); }
bool UnhexField(std::string_view f, std::string* out) {
    if (f == "-") {
        out->clear();
        return true;
    }
    return Unhex(f, out);
}

std::vector<std::string_view> Split(std::string_view line) {
    std::vector<std::string_view> w;
    size_t i = 0;
    while (i <= line.size()) {
        size_t sp = line.find(' ', i);
        if (sp == std::string_view::npos) sp = line.size();
        w.push_back(line.substr(i, sp - i));
        i = sp + 1;
    }
    return w;
}

template <typename T>
bool Number(std::string_view s, T* v) {
    auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), *v);
    return ec == std::errc() && p == s.data() + s.size();
}

// One record. Returns "" when fine, else what is wrong with it.
std::string ParseRecord(const std::vector<std::string_view>& w, Manifest* m) {
    const std::string_view k = w[0];
    auto want = [&](size_t n) { return w.size() == n; };
    if (k == "version" && want(2)) m->version = w[1];
    else if (k == "digest" && want(2)) m->digest = w[1];
    else if (k == "ctrl-alt-del" && want(2)) m->ctrl_alt_del = w[1];
    else if (k == "sysrq" && want(2)) {
        if (!Number(w[1], &m->sysrq)) return "bad sysrq";
    } else if (k == "link" && want(3)) {
        m->links.push_back({std::string(w[1]), std::string(w[2]), {}});
    } else if (k == "address" && want(3)) {
        if (m->links.empty() || m->links.back().name != w[1]) return "address before its link";
        std::string err;
        auto p = ParsePrefix(w[2], true, &err);
        if (!p) return "address: " + err;
        m->links.back().addresses.push_back(*p);
    } else if (k == "sysctl" && want(3)) {
        // The final stage writes these as PID 1: a key outside net.*, or
        // one that is a path ("net.//.kernel..."), refuses the manifest.
        std::string value, why;
        if (!CheckSysctlKey(w[1], &why)) return "sysctl key " + QuoteValue(w[1]) + ": " + why;
        if (!UnhexField(w[2], &value)) return "bad hex in sysctl value";
        m->sysctls.emplace_back(w[1], value);
    } else if (k == "object" && want(6)) {
        NftObject o;
        unsigned kind = 0, family = 0;
        if (!Number(w[1], &kind) || kind < 1 || kind > 7 || !Number(w[2], &family) || family > 255) return "bad object kind or family";
        o.kind = static_cast<NftKind>(kind);
        o.family = static_cast<uint8_t>(family);
        if (!UnhexField(w[3], &o.table) || !UnhexField(w[4], &o.name) || !UnhexField(w[5], &o.payload)) return "bad hex in object";
        m->ruleset.objects.push_back(std::move(o));
    } else {
        return "unknown record '" + std::string(k) + "'";
    }
    return "";
}

}  // namespace

std::string SerializeManifest(const Manifest& m) {
    std::string s = "haltfw-manifest " + std::to_string(kManifestFormat) + "\n";
    s += "version " + m.version + "\n";
    s += "digest " + m.digest + "\n";
    s += "ctrl-alt-del " + m.ctrl_alt_del + "\n";
    s += "sysrq " + std::to_string(m.sysrq) + "\n";
    for (const ManifestLink& l : m.links) {
        s += "link " + l.role + " " + l.name + "\n";
        for (const Prefix& p : l.addresses) s += "address " + l.name + " " + FormatPrefix(p) + "\n";
    }
    // Values may hold spaces (tcp_rmem): hex, like the object fields.
    for (const auto& [k, v] : m.sysctls) s += "sysctl " + k + " " + HexField(v) + "\n";
    for (const NftObject& o : m.ruleset.objects) {
        s += "object " + std::to_string(static_cast<int>(o.kind)) + " " + std::to_string(o.family) + " " + HexField(o.table) +
             " " + HexField(o.name) + " " + HexField(o.payload) + "\n";
    }
    Sha256 h;
    h.Update(s);
    s += "end " + h.HexFinal() + "\n";
    return s;
}

bool ParseManifest(std::string_view text, Manifest* m, std::string* err) {
    // The checksum first: nothing in a damaged file is worth reading.
    size_t end_at = text.rfind("\nend ");
    if (end_at == std::string_view::npos) {
        *err = "manifest: no 'end' line (truncated?)";
        return false;
    }
    std::string_view body = text.substr(0, end_at + 1);
    std::string_view end_line = text.substr(end_at + 5);
    if (!end_line.empty() && end_line.back() == '\n') end_line.remove_suffix(1);
    Sha256 h;
    h.Update(body);
    if (h.HexFinal() != end_line) {
        *err = "manifest: checksum mismatch (corrupted or truncated)";
        return false;
    }
    const std::string header = "haltfw-manifest " + std::to_string(kManifestFormat) + "\n";
    if (body.substr(0, header.size()) != header) {
        size_t nl = body.find('\n');
        *err = "manifest: unsupported format '" + std::string(body.substr(0, nl)) + "' (this haltfw reads '" +
               header.substr(0, header.size() - 1) + "')";
        return false;
    }

    *m = Manifest{};
    int lineno = 1;
    std::string_view records = body.substr(header.size());
    for (std::string_view line; NextLine(&records, &line);) {
        ++lineno;
        std::string why = ParseRecord(Split(line), m);
        if (!why.empty()) {
            *err = "manifest: line " + std::to_string(lineno) + ": " + why;
            return false;
        }
    }
    if (m->digest.size() != 64) {
        *err = "manifest: no ruleset digest";
        return false;
    }
    return true;
}

bool WriteManifestFile(const std::string& path, const Manifest& m, std::string* err) {
    std::string tmp = path + ".tmp";
    int fd = open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0) {
        *err = "write " + tmp + ": " + std::strerror(errno);
        return false;
    }
    std::string text = SerializeManifest(m);
    size_t off = 0;
    while (off < text.size()) {
        ssize_t n = write(fd, text.data() + off, text.size() - off);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) {
            *err = "write " + tmp + ": " + std::strerror(errno);
            close(fd);
            unlink(tmp.c_str());
            return false;
        }
        off += static_cast<size_t>(n);
    }
    if (fsync(fd) != 0 || close(fd) != 0 || rename(tmp.c_str(), path.c_str()) != 0) {
        *err = "write " + path + ": " + std::strerror(errno);
        unlink(tmp.c_str());
        return false;
    }
    return true;
}

bool ReadManifestFile(const std::string& path, Manifest* m, std::string* err) {
    int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        *err = "read " + path + ": " + std::strerror(errno);
        return false;
    }
    std::string text;
    char buf[65536];
    for (;;) {
        ssize_t n = read(fd, buf, sizeof buf);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) {
            *err = "read " + path + ": " + std::strerror(errno);
            close(fd);
            return false;
        }
        if (n == 0) break;
        text.append(buf, static_cast<size_t>(n));
    }
    close(fd);
    if (!ParseManifest(text, m, err)) {
        *err = path + ": " + *err;
        return false;
    }
    return true;
}

}  // namespace haltfw
