#include "arm/exitrd.h"

#include "halt/final_stage.h"

#include <fcntl.h>

#include <sys/wait.h>

#include <spawn.h>

#include <elf.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <vector>

#include "arm/files.h"
#include "base/text_lines.h"

namespace haltfw {
namespace {

// ---- ELF ------------------------------------------------------------------

#if defined(__LP64__)
using Ehdr = Elf64_Ehdr;
using Phdr = Elf64_Phdr;
using Dyn = Elf64_Dyn;
constexpr unsigned char kClass = ELFCLASS64;
#else
using Ehdr = Elf32_Ehdr;
using Phdr = Elf32_Phdr;
using Dyn = Elf32_Dyn;
constexpr unsigned char kClass = ELFCLASS32;
#endif
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
constexpr unsigned char kData = ELFDATA2LSB;
#else
constexpr unsigned char kData = ELFDATA2MSB;
#endif

// Copies a struct out of the image at `off` (the image need not be aligned).
template <typename T>
bool At(std::string_view image, uint64_t off, T* out) {
    if (off > image.size() || image.size() - off < sizeof(T)) return false;
    std::memcpy(out, image.data() + off, sizeof(T));
    return true;
}

// A C string inside the image, or "" if it runs off the end.
std::string CString(std::string_view image, uint64_t off, uint64_t max) {
    if (off >= image.size()) return "";
    std::string_view s = image.substr(off, max);
    size_t nul = s.find('\0');
    return nul == std::string_view::npos ? "" : std::string(s.substr(0, nul));
}

bool CheckHeader(std::string_view image, uint16_t machine, Ehdr* eh, std::string* err) {
    if (!At(image, 0, eh) || std::memcmp(eh->e_ident, ELFMAG, SELFMAG) != 0) {
        *err = "not an ELF file";
        return false;
    }
    if (eh->e_ident[EI_CLASS] != kClass || eh->e_ident[EI_DATA] != kData || (machine && eh->e_machine != machine)) {
        *err = "an ELF file for another architecture (machine " + std::to_string(eh->e_machine) + ", this is " +
               std::to_string(machine) + ")";
        return false;
    }
    if (eh->e_type != ET_EXEC && eh->e_type != ET_DYN) {
        *err = "not an executable (ELF type " + std::to_string(eh->e_type) + ")";
        return false;
    }
    if (eh->e_phentsize != sizeof(Phdr)) {
        *err = "malformed ELF file (program header size " + std::to_string(eh->e_phentsize) + ")";
        return false;
    }
    return true;
}

// The DT_NEEDED count of a PT_DYNAMIC segment (a static-pie has one, with
// no DT_NEEDED in it).
int NeededCount(std::string_view image, const Phdr& ph) {
    int needed = 0;
    for (uint64_t off = ph.p_offset; off + sizeof(Dyn) <= ph.p_offset + ph.p_filesz; off += sizeof(Dyn)) {
        Dyn d;
        if (!At(image, off, &d) || d.d_tag == DT_NULL) break;
        needed += d.d_tag == DT_NEEDED;
    }
    return needed;
}

std::string Canonical(const std::string& path) {
    char buf[PATH_MAX];
    return realpath(path.c_str(), buf) ? std::string(buf) : path;
}

}  // namespace

std::string ExitrdRoot() {
    const char* r = std::getenv("HALTFW_EXITRD");
    return r && *r ? r : kExitrdDefault;
}

uint16_t NativeElfMachine() {
#if defined(__x86_64__)
    return EM_X86_64;
#elif defined(__aarch64__)
    return EM_AARCH64;
#elif defined(__i386__)
    return EM_386;
#elif defined(__arm__)
    return EM_ARM;
#elif defined(__riscv)
    return EM_RISCV;
#else
    return 0;  // unknown: the machine is not checked
#endif
}

bool InspectElf(std::string_view image, uint16_t machine, ElfFacts* facts, std::string* err) {
    Ehdr eh;
    if (!CheckHeader(image, machine, &eh, err)) return false;
    *facts = ElfFacts{};
    for (unsigned i = 0; i < eh.e_phnum; ++i) {
        Phdr ph;
        if (!At(image, eh.e_phoff + uint64_t{i} * sizeof(Phdr), &ph)) {
            *err = "malformed ELF file (program headers past the end)";
            return false;
        }
        if (ph.p_type == PT_INTERP) facts->interpreter = CString(image, ph.p_offset, ph.p_filesz);
        if (ph.p_type == PT_DYNAMIC) facts->needed += NeededCount(image, ph);
    }
    return true;
}

bool CheckStaticElf(std::string_view image, uint16_t machine, std::string* err) {
    ElfFacts f;
    if (!InspectElf(image, machine, &f, err)) return false;
    if (!f.interpreter.empty()) {
        *err = "dynamically linked (interpreter '" + f.interpreter + "')";
        return false;
    }
    if (f.needed > 0) {
        *err = "needs shared libraries (DT_NEEDED), like a shared library";
        return false;
    }
    return true;
}

bool ParseLoaderList(std::string_view out, std::vector<std::string>* libs, std::string* err) {
    libs->clear();
    for (std::string_view line; NextLine(&out, &line);) {
        size_t arrow = line.find(" => ");
        if (arrow == std::string_view::npos) continue;  // the vDSO, the interpreter itself
        std::string_view rest = line.substr(arrow + 4);
        std::string_view name = line.substr(0, arrow);
        while (!name.empty() && (name.front() == '\t' || name.front() == ' ')) name.remove_prefix(1);
        if (rest.substr(0, 9) == "not found") {
            *err = "library '" + std::string(name) + "' not found";
            return false;
        }
        size_t sp = rest.find(" (");
        std::string_view path = rest.substr(0, sp);
        if (path.empty() || path[0] != '/') continue;
        libs->emplace_back(path);
    }
    return true;
}

namespace {

// Runs `argv` and returns its standard output. The loader's --list mode is
// what ldd uses; ldd itself is a shell script haltfw need not depend on.
bool Capture(const std::vector<std::string>& argv, std::string* out, std::string* err) {
    int fds[2];
    if (pipe2(fds, O_CLOEXEC) != 0) {
        *err = std::string("pipe: ") + std::strerror(errno);
        return false;
    }
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, fds[1], 1);
    std::vector<char*> args;
    for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    pid_t pid = 0;
    // No environment: systemd-shutdown runs the final stage with no
    // LD_LIBRARY_PATH, LD_PRELOAD or GLIBC_TUNABLES, whatever the caller
    // of arm has set, so its libraries are listed without them.
    char* no_env[] = {nullptr};
    int rc = posix_spawn(&pid, args[0], &fa, nullptr, args.data(), no_env);
    posix_spawn_file_actions_destroy(&fa);
    close(fds[1]);
    if (rc != 0) {
        close(fds[0]);
        *err = argv[0] + ": " + std::strerror(rc);
        return false;
    }
    char buf[4096];
    ssize_t n;
    while ((n = read(fds[0], buf, sizeof buf)) > 0 || (n < 0 && errno == EINTR))
        if (n > 0) out->append(buf, static_cast<size_t>(n));
    close(fds[0]);
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        *err = argv[0] + " --list: failed (status " + std::to_string(status) + ")";
        return false;
    }
    return true;
}

}  // namespace

bool LoadExitrdFiles(const std::string& final_path, std::vector<ExitrdFile>* files, std::string* err) {
    files->clear();
    ExitrdFile self{kExitrdShutdown, "", 0755, final_path, {}, 0};
    ElfFacts facts;
    std::string why;
    // Each stamp before the read: a change in between shows as a stamp the
    // next arm does not find (see ExitrdRecord).
    self.stamped_ns = RealtimeNs();
    StampFile(final_path, &self.source_stamp);
    if (!ReadWholeFile(final_path, &self.bytes, &why) || !InspectElf(self.bytes, NativeElfMachine(), &facts, &why)) {
        *err = "final stage " + final_path + ": " + (why.empty() ? "No such file or directory" : why);
        return false;
    }
    files->push_back(std::move(self));
    if (facts.interpreter.empty() && facts.needed == 0) return true;  // static
    if (facts.interpreter.empty()) {
        *err = "final stage " + final_path + ": names libraries but has no program interpreter";
        return false;
    }
    std::string listing;
    std::vector<std::string> libs;
    if (!Capture({facts.interpreter, "--list", final_path}, &listing, &why) || !ParseLoaderList(listing, &libs, &why)) {
        *err = "final stage " + final_path + ": " + why;
        return false;
    }
    libs.insert(libs.begin(), facts.interpreter);
    for (const std::string& lib : libs) {
        ExitrdFile f{lib, "", 0755, lib, {}, RealtimeNs()};
        StampFile(lib, &f.source_stamp);
        if (!ReadWholeFile(lib, &f.bytes, &why)) {  // follows symlinks: the exitrd gets the real bytes
            *err = "final stage " + final_path + ": library " + lib + ": " +
                   (why.empty() ? "No such file or directory" : why);
            return false;
        }
        files->push_back(std::move(f));
    }
    return true;
}

std::string InertBeside(const std::string& final_path) {
    size_t slash = final_path.rfind('/');
    return (slash == std::string::npos ? std::string() : final_path.substr(0, slash + 1)) + kInertProgram;
}

bool LoadInertFile(const std::string& path, ExitrdFile* file, std::string* err) {
    *file = ExitrdFile{kExitrdInert, "", 0755, path, {}, RealtimeNs()};
    std::string why;
    StampFile(path, &file->source_stamp);
    if (!ReadWholeFile(path, &file->bytes, &why) || !CheckStaticElf(file->bytes, NativeElfMachine(), &why)) {
        *err = "inert program " + path + ": " + (why.empty() ? "No such file or directory" : why);
        return false;
    }
    return true;
}

int64_t RealtimeNs() {
    timespec now{};
    clock_gettime(CLOCK_REALTIME, &now);
    return int64_t{now.tv_sec} * 1'000'000'000 + now.tv_nsec;
}

bool StampFile(const std::string& path, FileStamp* stamp) {
    struct stat st {};
    if (stat(path.c_str(), &st) != 0) return false;
    *stamp = FileStamp{static_cast<uint64_t>(st.st_dev),
                       static_cast<uint64_t>(st.st_ino),
                       static_cast<uint64_t>(st.st_size),
                       static_cast<unsigned>(st.st_mode),
                       int64_t{st.st_mtim.tv_sec} * 1'000'000'000 + st.st_mtim.tv_nsec,
                       int64_t{st.st_ctim.tv_sec} * 1'000'000'000 + st.st_ctim.tv_nsec};
    return true;
}

namespace {

std::string FormatStamp(const FileStamp& s) {
    return std::to_string(s.dev) + ":" + std::to_string(s.ino) + ":" + std::to_string(s.size) + ":" +
           std::to_string(s.mode) + ":" + std::to_string(s.mtime_ns) + ":" + std::to_string(s.ctime_ns);
}

bool ParseStamp(std::string_view text, FileStamp* s) {
    uint64_t u[4];
    int64_t t[2];
    for (int i = 0; i < 6; ++i) {
        size_t colon = text.find(':');
        if ((i < 5) != (colon != std::string_view::npos)) return false;
        std::string field(text.substr(0, colon));
        if (field.empty() || field.find_first_not_of(i >= 4 ? "-0123456789" : "0123456789") != std::string::npos)
            return false;
        errno = 0;
        char* end = nullptr;
        if (i < 4) u[i] = std::strtoull(field.c_str(), &end, 10);
        else t[i - 4] = std::strtoll(field.c_str(), &end, 10);
        if (errno != 0 || *end != '\0') return false;
        if (colon != std::string_view::npos) text.remove_prefix(colon + 1);
    }
    if (u[3] > UINT_MAX) return false;
    *s = FileStamp{u[0], u[1], u[2], static_cast<unsigned>(u[3]), t[0], t[1]};
    return true;
}

std::string FormatOptionalStamp(const std::optional<FileStamp>& s) { return s ? FormatStamp(*s) : "-"; }

bool ParseOptionalStamp(std::string_view text, std::optional<FileStamp>* s) {
    if (text == "-") {
        s->reset();
        return true;
    }
    FileStamp st;
    if (!ParseStamp(text, &st)) return false;
    *s = st;
    return true;
}

std::optional<FileStamp> OptionalStamp(const StampLookup& stamp, const std::string& path) {
    FileStamp s;
    if (!stamp(path, &s)) return std::nullopt;
    return s;
}

}  // namespace

std::string SerializeExitrdRecord(const ExitrdRecord& r) {
    std::string out = "haltfw-files 2\n";
    out += "loader-cache " + FormatOptionalStamp(r.context.loader_cache) + "\n";
    out += "loader-preload " + FormatOptionalStamp(r.context.loader_preload) + "\n";
    out += "writer " + FormatOptionalStamp(r.context.writer) + "\n";
    for (const ExitrdRecord::Entry& e : r.entries)
        out += "file " + e.path + "\t" + e.source + "\t" + FormatStamp(e.source_stamp) + "\t" +
               FormatStamp(e.copy_stamp) + "\n";
    return out;
}

bool ParseExitrdRecord(std::string_view text, ExitrdRecord* r, std::string* err) {
    *r = ExitrdRecord{};
    std::string_view rest = text, line;
    int n = 0;
    bool cache = false, preload = false, writer = false;
    auto fail = [&](const std::string& why) {
        *err = "line " + std::to_string(n) + ": " + why;
        return false;
    };
    while (NextLine(&rest, &line)) {
        ++n;
        if (n == 1) {
            if (line != "haltfw-files 2") return fail("not a haltfw-files 2 record");
            continue;
        }
        size_t sp = line.find(' ');
        std::string_view key = line.substr(0, sp),
                         value = sp == std::string_view::npos ? std::string_view() : line.substr(sp + 1);
        if (key == "loader-cache") {
            if (!ParseOptionalStamp(value, &r->context.loader_cache)) return fail("bad stamp");
            cache = true;
        } else if (key == "loader-preload") {
            if (!ParseOptionalStamp(value, &r->context.loader_preload)) return fail("bad stamp");
            preload = true;
        } else if (key == "writer") {
            if (!ParseOptionalStamp(value, &r->context.writer)) return fail("bad stamp");
            writer = true;
        } else if (key == "file") {
            std::string_view f[4];
            for (int i = 0; i < 4; ++i) {
                size_t tab = value.find('\t');
                if ((i < 3) != (tab != std::string_view::npos))
                    return fail("a file line has four tab-separated fields");
                f[i] = value.substr(0, tab);
                if (tab != std::string_view::npos) value.remove_prefix(tab + 1);
            }
            ExitrdRecord::Entry e{std::string(f[0]), std::string(f[1]), {}, {}};
            if (e.path.empty() || e.path[0] != '/' || e.source.empty())
                return fail("a path that is empty or not absolute");
            if (!ParseStamp(f[2], &e.source_stamp) || !ParseStamp(f[3], &e.copy_stamp)) return fail("bad stamp");
            r->entries.push_back(std::move(e));
        } else {
            return fail("unknown key '" + std::string(key) + "'");
        }
    }
    if (n == 0) return fail("empty");
    if (!cache || !preload || !writer) return fail("no loader-cache, loader-preload or writer line");
    return true;
}

ExitrdContext StampExitrdContext(const StampLookup& stamp) {
    return ExitrdContext{OptionalStamp(stamp, kLoaderCache), OptionalStamp(stamp, kLoaderPreload),
                         OptionalStamp(stamp, kSelfExe)};
}

bool BuildExitrdRecord(const std::string& root, const std::vector<ExitrdFile>& files, const ExitrdFile* inert,
                       const ExitrdContext& context, const StampLookup& stamp, ExitrdRecord* r, std::string* why) {
    *r = ExitrdRecord{};
    std::vector<const ExitrdFile*> all;
    for (const ExitrdFile& f : files) all.push_back(&f);
    if (inert) all.push_back(inert);
    for (const ExitrdFile* f : all) {
        if (f->path.find_first_of("\t\n") != std::string::npos ||
            f->source.find_first_of("\t\n") != std::string::npos) {
            *why = f->source + ": a tab or newline in its path";
            return false;
        }
        if (f->source_stamp.ino == 0) {
            *why = f->source + ": not stamped when read";
            return false;
        }
        int64_t limit = f->stamped_ns - kRecordRacyNs;
        if (f->source_stamp.ctime_ns > limit || f->source_stamp.mtime_ns > limit) {
            *why = f->source + " had changed less than " + std::to_string(kRecordRacyNs / 1'000'000'000) +
                   " s before it was stamped";
            return false;
        }
        ExitrdRecord::Entry e{f->path, f->source, f->source_stamp, {}};
        if (!stamp(root + f->path, &e.copy_stamp)) {
            *why = root + f->path + ": gone";
            return false;
        }
        r->entries.push_back(std::move(e));
    }
    r->context = context;
    return true;
}

bool ExitrdRecordCurrent(const ExitrdRecord& r, const std::string& root, const std::string& final_path,
                         const std::string& inert_path, const StampLookup& stamp, std::string* why) {
    const ExitrdRecord::Entry* self = nullptr;
    const ExitrdRecord::Entry* inert = nullptr;
    for (const ExitrdRecord::Entry& e : r.entries) {
        if (e.path == kExitrdShutdown) self = &e;
        if (e.path == kExitrdInert) inert = &e;
    }
    if (!self || self->source != final_path) {
        *why = "the final stage was recorded from " + (self ? self->source : std::string("nowhere")) + ", not " +
               final_path;
        return false;
    }
    if (inert_path.empty() != (inert == nullptr) || (inert && inert->source != inert_path)) {
        *why = "the inert program was recorded from " + (inert ? inert->source : std::string("nowhere")) + ", not " +
               (inert_path.empty() ? std::string("nowhere") : inert_path);
        return false;
    }
    FileStamp s;
    if (!inert && stamp(ExitrdInertPath(root), &s)) {
        *why = ExitrdInertPath(root) + " is there, unrecorded";
        return false;
    }
    ExitrdContext now = StampExitrdContext(stamp);
    if (now.loader_cache != r.context.loader_cache || now.loader_preload != r.context.loader_preload) {
        *why = std::string(kLoaderCache) + " or " + kLoaderPreload + " changed";
        return false;
    }
    if (!now.writer || now.writer != r.context.writer) {
        *why = "another haltfw program wrote it";
        return false;
    }
    for (const ExitrdRecord::Entry& e : r.entries) {
        if (!stamp(e.source, &s) || !(s == e.source_stamp)) {
            *why = e.source + " changed";
            return false;
        }
        if (!stamp(root + e.path, &s) || !(s == e.copy_stamp)) {
            *why = root + e.path + " changed";
            return false;
        }
    }
    return true;
}

bool ExitrdMount::HasOption(std::string_view opt) const {
    std::string_view rest = options;
    while (!rest.empty()) {
        size_t comma = rest.find(',');
        if (rest.substr(0, comma) == opt) return true;
        if (comma == std::string_view::npos) break;
        rest.remove_prefix(comma + 1);
    }
    return false;
}

std::optional<ExitrdMount> FindMount(std::string_view mountinfo, const std::string& path) {
    std::optional<ExitrdMount> found;
    for (const MountEntry& m : ParseMountinfo(mountinfo))  // the last one is on top
        if (m.point == path) found = ExitrdMount{m.point, m.options, m.fstype};
    return found;
}

bool ReadExitrdState(const std::string& root, ExitrdState* st, std::string* err) {
    std::string info;
    if (!ReadWholeFile("/proc/self/mountinfo", &info, err)) {
        if (err->empty()) *err = "read /proc/self/mountinfo: missing (is /proc mounted?)";
        return false;
    }
    st->root = Canonical(root);
    st->mount = FindMount(info, st->root);
    return true;
}

bool MountExitrd(const std::string& root, bool* mounted, bool* created_dir, std::string* err) {
    *mounted = *created_dir = false;
    if (mkdir(root.c_str(), 0700) == 0) *created_dir = true;
    else if (errno != EEXIST) {
        *err = "exitrd " + root + ": mkdir: " + std::strerror(errno);
        return false;
    }
    ExitrdState st;
    if (!ReadExitrdState(root, &st, err)) return false;
    if (st.Usable()) return true;
    if (st.mount) {
        *err = "exitrd " + root + ": already a mount of type '" + st.mount->fstype + "' (" + st.mount->options +
               "), not haltfw's; refusing to mount over it";
        return false;
    }
    // Exec allowed (the point of the mount), nosuid; device nodes allowed,
    // since the final stage may need /dev/console or /dev/kmsg in its root
    // after the pivot. Mode 0700: nobody but root looks inside.
    if (mount("haltfw-exitrd", st.root.c_str(), "tmpfs", MS_NOSUID, "mode=0700") != 0) {
        *err = "exitrd " + root + ": mount tmpfs: " + std::strerror(errno);
        if (*created_dir) rmdir(root.c_str());
        *created_dir = false;
        return false;
    }
    *mounted = true;
    return true;
}

bool UnmountExitrd(const std::string& root, bool* lazy, std::string* err) {
    *lazy = false;
    if (umount2(root.c_str(), UMOUNT_NOFOLLOW) == 0) return true;
    // Busy: someone has a file open or a cwd inside. Detach it from the tree
    // now; the kernel frees it when the last user lets go.
    if (errno == EBUSY && umount2(root.c_str(), MNT_DETACH | UMOUNT_NOFOLLOW) == 0) {
        *lazy = true;
        return true;
    }
    *err = "exitrd " + root + ": unmount: " + std::strerror(errno);
    return false;
}

}  // namespace haltfw
