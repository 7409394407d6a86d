#include "halt/inert_args.h"

#include <cstring>

namespace haltfw {
namespace {

// Appends to a fixed buffer, always NUL-terminated, never past its end.
struct Out {
    char* buf;
    size_t size;
    size_t len = 0;

    void Str(const char* s) {
        for (; *s; ++s)
            if (len + 1 < size) buf[len++] = *s;
        if (size) buf[len] = '\0';
    }
    void Num(long v) {
        char d[24];
        int n = 0;
        unsigned long u = v < 0 ? 0UL - static_cast<unsigned long>(v) : static_cast<unsigned long>(v);
        do d[n++] = static_cast<char>('0' + u % 10); while (u /= 10);
        if (v < 0) d[n++] = '-';
        char s[24];
        for (int i = 0; i < n; ++i) s[i] = d[n - 1 - i];
        s[n] = '\0';
        Str(s);
    }
    void Field(const char* key, long v) {
        Str(" ");
        Str(key);
        Str("=");
        Num(v);
    }
};

// "86400" -> 86400, within the heartbeat's bounds; -1 for anything else.
int HeartbeatSeconds(const char* s) {
    long v = 0;
    if (*s == '\0') return -1;
    for (; *s; ++s) {
        if (*s < '0' || *s > '9') return -1;
        v = v * 10 + (*s - '0');
        if (v > kHeartbeatMaxSeconds) return -1;
    }
    return v < kHeartbeatMinSeconds ? -1 : static_cast<int>(v);
}

// `arg` is `name` (its value the next argument) or `name=VALUE`: sets
// *value (nullptr when the next argument is missing) and returns true.
bool Option(const char* name, int argc, const char* const* argv, int* i, const char** value) {
    const char* arg = argv[*i];
    size_t n = std::strlen(name);
    if (std::strncmp(arg, name, n) != 0) return false;
    if (arg[n] == '=') {
        *value = arg + n + 1;
        return true;
    }
    if (arg[n] != '\0') return false;
    *value = *i + 1 < argc ? argv[++*i] : nullptr;
    return true;
}

}  // namespace

bool ParseInertArgs(int argc, const char* const* argv, InertArgs* args, const char** err, int* bad) {
    InertArgs a;
    *err = "";
    for (int i = 1; i < argc; ++i) {
        const char* arg = argv[i];
        *bad = i;
        if (std::strcmp(arg, "--help") == 0 || std::strcmp(arg, "-h") == 0) {
            a.help = true;
            continue;
        }
        if (std::strcmp(arg, "--kmsg") == 0) {
            a.kmsg = true;
            continue;
        }
        const char* value = nullptr;
        if (Option("--ctrl-alt-del", argc, argv, &i, &value)) {
            if (!value) *err = "missing value for --ctrl-alt-del";
            else if (!ParseCtrlAltDel(value, &a.ctrl_alt_del))
                *err = "bad value for --ctrl-alt-del (reboot, poweroff or ignore)";
        } else if (Option("--heartbeat", argc, argv, &i, &value)) {
            if (!value) *err = "missing value for --heartbeat";
            else if ((a.heartbeat_s = HeartbeatSeconds(value)) < 0)
                *err = "bad value for --heartbeat (seconds, 1 to 86400)";
        } else {
            *err = "unknown option";
        }
        if (value) *bad = i;  // the value at fault, if any, else the option
        if (**err) {
            *args = InertArgs{};
            return false;
        }
    }
    *args = a;
    return true;
}

size_t FormatInertLine(const InertFigures& f, char* buf, size_t size) {
    Out o{buf, size};
    o.Str("HALTFW: INERT");
    o.Field("rss_kib", f.rss_kib);
    o.Field("rss_anon_kib", f.rss_anon_kib);
    o.Field("rss_file_kib", f.rss_file_kib);
    o.Field("vm_rss_kib", f.vm_rss_kib);
    o.Field("vm_hwm_kib", f.vm_hwm_kib);
    o.Field("mem_used_kib", f.mem_used_kib);
    o.Field("removed", f.removed);
    o.Field("remove_failed", f.remove_failed);
    o.Field("freed_kib", f.freed_kib);
    o.Field("left_kib", f.left_kib);
    o.Str(" ctrl_alt_del=");
    o.Str(CtrlAltDelWord(f.ctrl_alt_del));
    o.Str("\n");
    return o.len;
}

size_t FormatAliveLine(const AliveFigures& f, char* buf, size_t size) {
    Out o{buf, size};
    o.Str("HALTFW: ALIVE");
    o.Field("up", f.up_s);
    o.Str(" load1=");
    if (!f.load_known) {
        o.Str("-1");
    } else {
        // Fixed point with 16 fraction bits, rounded to hundredths.
        unsigned long hundredths = (f.load1 * 100 + 32768) >> 16;
        o.Num(static_cast<long>(hundredths / 100));
        o.Str(hundredths % 100 < 10 ? ".0" : ".");
        o.Num(static_cast<long>(hundredths % 100));
    }
    o.Field("mem_avail_kib", f.mem_avail_kib);
    o.Field("mem_free_kib", f.mem_free_kib);
    o.Field("conntrack", f.conntrack);
    o.Field("rss_kib", f.rss_kib);
    o.Str("\n");
    return o.len;
}

}  // namespace haltfw
