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

}  // namespace

bool ParseInertArgs(int argc, const char* const* argv, InertArgs* args, const char** err, int* bad) {
    InertArgs a;
    for (int i = 1; i < argc; ++i) {
        const char* arg = argv[i];
        *bad = i;
        if (std::strcmp(arg, "--help") == 0 || std::strcmp(arg, "-h") == 0) {
            a.help = true;
            continue;
        }
        const char* value = nullptr;
        if (std::strcmp(arg, "--ctrl-alt-del") == 0) {
            if (i + 1 >= argc) {
                *err = "missing value for --ctrl-alt-del";
                *args = InertArgs{};
                return false;
            }
            value = argv[++i];
            *bad = i;
        } else if (std::strncmp(arg, "--ctrl-alt-del=", 15) == 0) {
            value = arg + 15;
        } else {
            *err = "unknown option";
            *args = InertArgs{};
            return false;
        }
        if (!ParseCtrlAltDel(value, &a.ctrl_alt_del)) {
            *err = "bad value for --ctrl-alt-del (reboot, poweroff or ignore)";
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

}  // namespace haltfw
