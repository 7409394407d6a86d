#include "core/pstore.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <ctime>
#include <functional>
#include <memory>
#include <set>

#include "base/bounded_read.h"
#include "base/file_kind.h"
#include "halt/manifest.h"

namespace haltfw {
namespace {

// The kernel's names for record types (6.1, fs/pstore/platform.c,
// pstore_type_names), longest first where one begins another.
constexpr std::string_view kTypes[] = {"powerpc-common", "powerpc-opal", "powerpc-ofw", "console", "unknown",
                                       "ftrace", "dmesg", "pmsg", "rtas", "mce"};

// A dump's parts are written within milliseconds of each other; two
// crashes of one boot, or of two boots, come further apart than this.
constexpr int64_t kDumpSpanS = 60;

bool IsBackendChar(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '.' ||
           c == '-';
}

std::string Printable(std::string_view s, size_t max) {
    std::string out;
    for (char c : s.substr(0, max)) out += c >= 0x20 && c < 0x7f ? c : '?';
    return out;
}

// "Panic#1 Part1" -> "Panic#1" and 1; false for any other line.
bool SplitHeader(std::string_view h, std::string_view* dump, int* part) {
    size_t sp = h.find(" Part");
    size_t hash = h.find('#');
    if (sp == std::string_view::npos || hash == std::string_view::npos || hash == 0 || hash > sp) return false;
    std::string_view n = h.substr(sp + 5);
    if (n.empty() || n.size() > 9 || !std::all_of(n.begin(), n.end(), [](char c) { return c >= '0' && c <= '9'; }))
        return false;
    *dump = h.substr(0, sp);
    *part = std::stoi(std::string(n));
    return true;
}

std::string FormatTime(int64_t t) {
    if (t <= 0) return "an unknown time";
    time_t tt = static_cast<time_t>(t);
    struct tm tm {};
    char buf[40];
    if (!gmtime_r(&tt, &tm) || strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S UTC", &tm) == 0) return "an unknown time";
    return buf;
}

// The parts of one dump.
struct Dump {
    std::string label;  // "Panic#1", or the part's name where it has no header
    std::vector<const PstoreRecord*> parts;
    int64_t time = 0;   // the first part's
};

std::vector<Dump> GroupDumps(const PstoreScan& s) {
    std::vector<const PstoreRecord*> dmesg;
    for (const PstoreRecord& r : s.records)
        if (r.type == "dmesg") dmesg.push_back(&r);
    std::stable_sort(dmesg.begin(), dmesg.end(),
                     [](const PstoreRecord* a, const PstoreRecord* b) { return a->time < b->time; });
    std::vector<Dump> dumps;
    for (const PstoreRecord* r : dmesg) {
        std::string_view label;
        int part = 0;
        bool headed = SplitHeader(r->header, &label, &part);
        Dump* into = nullptr;
        for (Dump& d : dumps)
            if (headed && d.label == label && d.parts[0]->backend == r->backend && r->time - d.time <= kDumpSpanS)
                into = &d;
        if (!into) {
            dumps.push_back({headed ? std::string(label) : r->name, {}, r->time});
            into = &dumps.back();
        }
        into->parts.push_back(r);
    }
    return dumps;
}

// What the dump says crashed: the lowest part's line (Part1 holds the
// newest messages, the panic's among them).
std::string DumpMessage(const Dump& d) {
    const PstoreRecord* best = nullptr;
    int best_part = 0;
    for (const PstoreRecord* r : d.parts) {
        std::string_view label;
        int part = 0;
        if (r->message.empty() || !SplitHeader(r->header, &label, &part)) part = 1 << 30;
        if (!best || part < best_part) best = r, best_part = part;
    }
    if (!best->message.empty()) return best->message;
    if (!best->error.empty()) return "its text could not be read (" + best->error + ")";
    if (best->name.ends_with(".enc.z")) return "its text is compressed and the kernel could not expand it";
    return "no line in it says why";
}

// Where the records are, for the user to find them.
std::string Whereabouts(const PstoreScan& s) {
    std::set<std::string> archive_dirs;
    bool in_fs = false;
    for (const PstoreRecord& r : s.records) {
        if (r.type != "dmesg") continue;
        if (r.archived) archive_dirs.insert(r.dir);
        else in_fs = true;
    }
    std::string out;
    if (archive_dirs.size() == 1) out = "archived by systemd-pstore in " + *archive_dirs.begin();
    else if (!archive_dirs.empty()) out = "archived by systemd-pstore in " + std::to_string(archive_dirs.size()) +
                                          " directories of " + s.archive;
    if (in_fs) {
        if (!out.empty()) out += "; ";
        out += "still in " + s.fs + ", reported at every boot until deleted there";
    }
    return out;
}

}  // namespace

bool ParsePstoreName(std::string_view name, std::string* type, std::string* backend) {
    std::string_view n = name;
    if (n.ends_with(".enc.z")) n.remove_suffix(6);
    size_t dash = n.rfind('-');
    if (dash == std::string_view::npos) return false;
    std::string_view id = n.substr(dash + 1);
    if (id.empty() || id.size() > 20 || !std::all_of(id.begin(), id.end(), [](char c) { return c >= '0' && c <= '9'; }))
        return false;
    n = n.substr(0, dash);
    for (std::string_view t : kTypes) {
        if (!n.starts_with(t) || n.size() < t.size() + 2 || n[t.size()] != '-') continue;
        std::string_view b = n.substr(t.size() + 1);
        if (!std::all_of(b.begin(), b.end(), IsBackendChar)) return false;
        *type = t;
        *backend = b;
        return true;
    }
    return false;
}

void ParseDmesgText(std::string_view text, std::string* header, std::string* message) {
    header->clear();
    message->clear();
    size_t nl = text.find('\n');
    std::string_view first = text.substr(0, nl);
    if (first.ends_with('\r')) first.remove_suffix(1);
    std::string_view label;
    int part = 0;
    if (SplitHeader(first, &label, &part)) *header = first;
    // In order of preference: what the panic says, else the first sign of
    // the oops (or warning) that led to it.
    static constexpr std::string_view kMarks[] = {"Kernel panic - not syncing", "BUG: ", "Oops: ",
                                                  "general protection fault", "WARNING: "};
    for (std::string_view mark : kMarks) {
        // At the start of a message ("<1>[    5.0] BUG: "), not inside a
        // word ("DEBUG: ").
        size_t at = text.find(mark);
        while (at != std::string_view::npos && at > 0 && text[at - 1] != ' ' && text[at - 1] != ']' &&
               text[at - 1] != '\n')
            at = text.find(mark, at + 1);
        if (at == std::string_view::npos) continue;
        size_t end = text.find('\n', at);
        std::string_view line = text.substr(at, end == std::string_view::npos ? std::string_view::npos : end - at);
        while (!line.empty() && (line.back() == '\r' || line.back() == ' ')) line.remove_suffix(1);
        *message = Printable(line, kPstoreMessageMax);
        return;
    }
}

std::string PstoreLine(const PstoreScan& s) {
    std::vector<Dump> dumps = GroupDumps(s);
    std::string backend = s.backend == "?" ? "unknown" : s.backend;
    std::string line;
    if (dumps.empty() && s.backend.empty())
        line = "no backend: the kernel has nowhere to keep a record of a crash across a reboot";
    else if (dumps.empty())
        line = "no crash record from before this boot (backend " + backend + ")";
    else {
        const Dump* lastp = &dumps[0];
        for (const Dump& d : dumps)
            if (d.time >= lastp->time) lastp = &d;  // the latest; of equals, the one found last
        const Dump& last = *lastp;
        std::string parts = last.parts.size() == 1 ? "" : ", " + std::to_string(last.parts.size()) + " parts";
        std::string when = last.label + " at " + FormatTime(last.time) + parts;
        line = dumps.size() == 1 ? "a crash record from before this boot (" + last.parts[0]->backend + ", " + when + ")"
                                 : std::to_string(dumps.size()) + " crash records from before this boot (" +
                                       last.parts[0]->backend + "; the last " + when + ")";
        line += ": " + DumpMessage(last);
        if (std::string where = Whereabouts(s); !where.empty()) line += "; " + where;
    }
    // Names from the file system end up here: one printable line, whatever
    // they hold.
    return Printable(line, kMaxPstoreLine);
}

namespace {

// A directory's entries' names that `keep` takes, sorted, at most
// kPstoreEntriesMax of them (the cap counts only those kept: a large
// archive of earlier boots cannot push this boot's record out).
std::vector<std::string> DirNames(int dirfd, const std::string& path, std::vector<std::string>* ignored,
                                  const std::function<bool(const std::string&)>& keep) {
    std::vector<std::string> names;
    int fd = dup(dirfd);
    DIR* d = fd < 0 ? nullptr : fdopendir(fd);
    if (!d) {
        if (fd >= 0) (void)close(fd);
        ignored->push_back(path + ": " + std::strerror(errno));
        return names;
    }
    while (struct dirent* e = readdir(d)) {
        std::string n = e->d_name;
        if (n == "." || n == ".." || !keep(n)) continue;
        if (names.size() == kPstoreEntriesMax) {
            ignored->push_back(path + ": more than " + std::to_string(kPstoreEntriesMax) +
                               " entries; the rest not read");
            break;
        }
        names.push_back(std::move(n));
    }
    (void)closedir(d);  // read-only: nothing to lose
    std::sort(names.begin(), names.end());
    return names;
}

// Reads one record file, at most kPstoreReadMax bytes, never through a link.
void ReadRecord(int dirfd, PstoreRecord* r) {
    int fd = openat(dirfd, r->name.c_str(), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
    if (fd < 0) {
        r->error = std::strerror(errno);
        return;
    }
    // What was opened, not what was named a moment before: a regular file.
    if (struct stat st {}; fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        r->error = "not a regular file when opened";
        (void)close(fd);
        return;
    }
    std::unique_ptr<char[]> buf(new char[kPstoreReadMax]);
    size_t len = 0;
    for (ssize_t n; len < kPstoreReadMax && (n = ReadRetrying(fd, buf.get() + len, kPstoreReadMax - len)) != 0;) {
        if (n < 0) {
            r->error = std::strerror(errno);
            break;
        }
        len += static_cast<size_t>(n);
    }
    (void)close(fd);  // read-only: nothing to lose
    if (r->type == "dmesg" && r->error.empty()) ParseDmesgText(std::string_view(buf.get(), len), &r->header, &r->message);
}

int64_t Ns(const struct timespec& t) { return static_cast<int64_t>(t.tv_sec) * 1000000000 + t.tv_nsec; }

// The records in one directory. In the archive only files changed at or
// after `boot_ns`; elsewhere every one.
void ScanDir(const std::string& path, bool archived, int64_t boot_ns, PstoreScan* s, bool top) {
    int dirfd = open(path.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (dirfd < 0) {
        int e = errno;
        struct stat st {};
        if (e == ENOTDIR && lstat(path.c_str(), &st) == 0)
            s->ignored.push_back(path + ": " + (S_ISREG(st.st_mode) ? "a file" : FileKind(st.st_mode)) +
                                 ", not a directory");
        else if (e != ENOENT)
            s->ignored.push_back(path + ": " + std::strerror(e));
        return;
    }
    size_t subdirs = 0;
    // In the archive, what changed before this boot is not read at all.
    auto fresh_enough = [&](const std::string& name) {
        struct stat st {};
        return !archived || fstatat(dirfd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0 || Ns(st.st_ctim) >= boot_ns;
    };
    for (const std::string& name : DirNames(dirfd, path, &s->ignored, fresh_enough)) {
        std::string p = path + "/" + name;
        struct stat st {};
        if (fstatat(dirfd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) {
            s->ignored.push_back(p + ": " + std::strerror(errno));
            continue;
        }
        bool fresh = !archived || Ns(st.st_ctim) >= boot_ns;
        if (archived && top && S_ISDIR(st.st_mode)) {
            // systemd-pstore's directory of one dump; one from an earlier
            // boot is left unread.
            if (!fresh) continue;
            if (++subdirs > kPstoreEntriesMax) {
                s->ignored.push_back(p + ": more than " + std::to_string(kPstoreEntriesMax) + " directories");
                continue;
            }
            ScanDir(p, true, boot_ns, s, false);
            continue;
        }
        if (!fresh) continue;
        PstoreRecord r;
        if (!ParsePstoreName(name, &r.type, &r.backend)) {
            // systemd-pstore's own joined copy of a dump's parts.
            if (!(archived && name == "dmesg.txt")) s->ignored.push_back(p + ": not a pstore record's name");
            continue;
        }
        if (!S_ISREG(st.st_mode)) {
            s->ignored.push_back(p + ": " + FileKind(st.st_mode) + ", not a file");
            continue;
        }
        r.name = name;
        r.dir = path;
        r.archived = archived;
        r.time = st.st_mtim.tv_sec;
        ReadRecord(dirfd, &r);
        s->records.push_back(std::move(r));
    }
    (void)close(dirfd);
}

}  // namespace

PstoreScan ScanPstore(const PstorePaths& p, int64_t boot_ns) {
    PstoreScan s;
    s.fs = p.fs;
    s.archive = p.archive;
    char buf[256];
    if (ReadFileInto(p.backend.c_str(), buf, sizeof buf) < 0) {
        // No pstore in the kernel at all: no parameter.
        if (errno != ENOENT) {
            s.ignored.push_back(p.backend + ": " + std::strerror(errno));
            s.backend = "?";
        }
    } else {
        std::string_view b(buf);
        while (!b.empty() && (b.back() == '\n' || b.back() == ' ')) b.remove_suffix(1);
        // A charp parameter that was never set reads "(null)".
        if (b != "(null)") s.backend = Printable(b, 64);
    }
    ScanDir(p.fs, false, boot_ns, &s, true);
    ScanDir(p.archive, true, boot_ns, &s, true);
    return s;
}

int64_t BootTimeNs() {
    struct timespec real {}, boot {};
    (void)clock_gettime(CLOCK_REALTIME, &real);  // both clocks always exist
    (void)clock_gettime(CLOCK_BOOTTIME, &boot);
    return Ns(real) - Ns(boot);
}

}  // namespace haltfw
