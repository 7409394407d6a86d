#include "arm/exitrd.h"

#include <elf.h>

#include <catch2/catch.hpp>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <map>

#include "arm/files.h"

using namespace haltfw;

namespace {

// A minimal ELF image of the native class: a header, the given program
// headers, then `tail` (segment contents the headers point into).
struct Image {
    Elf64_Ehdr eh{};
    std::vector<Elf64_Phdr> ph;
    std::string tail;

    Image() {
        std::memcpy(eh.e_ident, ELFMAG, SELFMAG);
        eh.e_ident[EI_CLASS] = ELFCLASS64;
        eh.e_ident[EI_DATA] = ELFDATA2LSB;
        eh.e_ident[EI_VERSION] = EV_CURRENT;
        eh.e_type = ET_EXEC;
        eh.e_machine = EM_X86_64;
        eh.e_phoff = sizeof(Elf64_Ehdr);
        eh.e_phentsize = sizeof(Elf64_Phdr);
    }
    uint64_t TailOffset() const { return sizeof(Elf64_Ehdr) + ph.size() * sizeof(Elf64_Phdr); }
    void Segment(uint32_t type, const std::string& content) {
        Elf64_Phdr p{};
        p.p_type = type;
        p.p_offset = tail.size();  // relative for now; fixed in Bytes()
        p.p_filesz = content.size();
        ph.push_back(p);
        tail += content;
    }
    std::string Bytes() const {
        Elf64_Ehdr h = eh;
        h.e_phnum = static_cast<uint16_t>(ph.size());
        std::string out(reinterpret_cast<const char*>(&h), sizeof h);
        for (Elf64_Phdr p : ph) {
            p.p_offset += TailOffset();
            out.append(reinterpret_cast<const char*>(&p), sizeof p);
        }
        return out + tail;
    }
};

std::string Dynamic(std::initializer_list<std::pair<int64_t, uint64_t>> entries) {
    std::string out;
    for (auto [tag, val] : entries) {
        Elf64_Dyn d{};
        d.d_tag = tag;
        d.d_un.d_val = val;
        out.append(reinterpret_cast<const char*>(&d), sizeof d);
    }
    return out;
}

std::string Why(const std::string& image, uint16_t machine = EM_X86_64) {
    std::string err;
    return CheckStaticElf(image, machine, &err) ? "static" : err;
}

}  // namespace

#if defined(__x86_64__)
TEST_CASE("exitrd: a static executable and a static-pie pass") {
    Image exec;
    exec.Segment(PT_LOAD, "code");
    CHECK(Why(exec.Bytes()) == "static");

    Image pie;
    pie.eh.e_type = ET_DYN;
    pie.Segment(PT_LOAD, "code");
    pie.Segment(PT_DYNAMIC, Dynamic({{DT_FLAGS_1, DF_1_PIE}, {DT_NULL, 0}}));
    CHECK(Why(pie.Bytes()) == "static");
}

TEST_CASE("exitrd: a dynamically linked executable is refused, naming its interpreter") {
    Image dyn;
    dyn.eh.e_type = ET_DYN;
    dyn.Segment(PT_INTERP, std::string("/lib64/ld-linux-x86-64.so.2") + '\0');
    dyn.Segment(PT_DYNAMIC, Dynamic({{DT_NEEDED, 1}, {DT_NULL, 0}}));
    CHECK(Why(dyn.Bytes()) == "dynamically linked (interpreter '/lib64/ld-linux-x86-64.so.2')");
}

TEST_CASE("exitrd: a shared library (DT_NEEDED, no interpreter) is refused") {
    Image so;
    so.eh.e_type = ET_DYN;
    so.Segment(PT_DYNAMIC, Dynamic({{DT_NEEDED, 1}, {DT_NULL, 0}}));
    CHECK(Why(so.Bytes()) == "needs shared libraries (DT_NEEDED), like a shared library");
}

TEST_CASE("exitrd: not ELF, another machine, not an executable, truncated") {
    CHECK(Why("#!/bin/sh\necho hi\n") == "not an ELF file");
    CHECK(Why("") == "not an ELF file");
    Image arm;
    arm.eh.e_machine = EM_AARCH64;
    CHECK(Why(arm.Bytes()) == "an ELF file for another architecture (machine 183, this is 62)");
    Image obj;
    obj.eh.e_type = ET_REL;
    CHECK(Why(obj.Bytes()) == "not an executable (ELF type 1)");
    Image cut;
    cut.Segment(PT_LOAD, "code");
    CHECK(Why(cut.Bytes().substr(0, sizeof(Elf64_Ehdr) + 8)) == "malformed ELF file (program headers past the end)");
}

TEST_CASE("exitrd: the (dynamically linked) test binary itself is refused") {
    std::string self, err;
    REQUIRE(ReadWholeFile("/proc/self/exe", &self, &err));
    CHECK(Why(self, NativeElfMachine()).rfind("dynamically linked (interpreter '/lib", 0) == 0);
}
#endif

TEST_CASE("exitrd: the top-most mount on a path, unescaped, with its options") {
    const char* info =
        "22 1 0:21 / /run rw,nosuid,nodev,noexec,relatime shared:5 - tmpfs tmpfs rw,size=400000k,mode=755\n"
        "30 22 0:40 / /run/initramfs rw,nosuid,noexec shared:9 - tmpfs tmpfs rw,mode=700\n"
        "31 30 0:41 / /run/initramfs rw,nosuid master:2 - tmpfs haltfw-exitrd rw,mode=700\n"
        "32 1 0:42 / /tmp/with\\040space rw - ext4 /dev/vda1 rw\n";
    std::optional<ExitrdMount> m = FindMount(info, "/run/initramfs");
    REQUIRE(m);
    CHECK(m->fstype == "tmpfs");
    CHECK(m->options == "rw,nosuid");
    CHECK(m->HasOption("nosuid"));
    CHECK_FALSE(m->HasOption("noexec"));
    CHECK_FALSE(m->HasOption("nosu"));
    REQUIRE(FindMount(info, "/tmp/with space"));
    CHECK(FindMount(info, "/tmp/with space")->fstype == "ext4");
    CHECK_FALSE(FindMount(info, "/run/initramfs/x"));
    CHECK(FindMount(info, "/run")->HasOption("noexec"));
}

TEST_CASE("exitrd: only an exec-allowing tmpfs is usable") {
    ExitrdState st;
    CHECK_FALSE(st.Usable());
    st.mount = ExitrdMount{"/run/initramfs", "rw,nosuid", "tmpfs"};
    CHECK(st.Usable());
    st.mount->options = "rw,nosuid,noexec";
    CHECK_FALSE(st.Usable());
    st.mount = ExitrdMount{"/run/initramfs", "rw", "ext4"};
    CHECK_FALSE(st.Usable());
}

TEST_CASE("exitrd: its files' names, which the final stage, the watcher and haltfw-inert read too") {
    // The layout is a contract with programs of other releases (an exitrd
    // armed by one haltfw, run by the next): these names never change.
    CHECK(std::string(kExitrdDefault) == "/run/initramfs");
    CHECK(ExitrdShutdownPath("/run/initramfs") == "/run/initramfs/shutdown");
    CHECK(ExitrdManifestPath("/run/initramfs") == "/run/initramfs/haltfw.manifest");
    CHECK(ExitrdWatchStatePath("/run/initramfs") == "/run/initramfs/haltfw.watch");
    CHECK(ExitrdRecordPath("/run/initramfs") == "/run/initramfs/haltfw.files");
    CHECK(ExitrdInertPath("") == "/haltfw-inert");
    CHECK(std::string(kInertProgram) == "haltfw-inert");
    CHECK(std::string(kExitrdConsole) == "/.console");
    CHECK(std::string(kExitrdKmsg) == "/.kmsg");
}

TEST_CASE("exitrd: haltfw-inert is looked for beside the final stage, and must be static") {
    CHECK(InertBeside("/usr/lib/haltfw/haltfw-final") == "/usr/lib/haltfw/haltfw-inert");
    CHECK(InertBeside("build/tests/final-standin") == "build/tests/haltfw-inert");
    CHECK(InertBeside("haltfw-final") == "haltfw-inert");
    CHECK(ExitrdInertPath("/run/initramfs") == "/run/initramfs/haltfw-inert");

    ExitrdFile f;
    std::string err;
    CHECK_FALSE(LoadInertFile("/proc/self/exe", &f, &err));  // the test binary: dynamically linked
    CHECK(err.rfind("inert program /proc/self/exe: dynamically linked (interpreter '", 0) == 0);
    CHECK_FALSE(LoadInertFile("/nonexistent/haltfw-inert", &f, &err));
    CHECK(err == "inert program /nonexistent/haltfw-inert: No such file or directory");
}

namespace {

// Stamps of a pretend file system: path -> stamp; absent paths are missing.
struct FakeStamps {
    std::map<std::string, FileStamp> at;
    StampLookup Lookup() {
        return [this](const std::string& p, FileStamp* s) {
            auto it = at.find(p);
            if (it == at.end()) return false;
            *s = it->second;
            return true;
        };
    }
};

constexpr int64_t kNow = int64_t{1'800'000'000} * 1'000'000'000;

FileStamp Stamp(uint64_t ino, int64_t age_s = 3600) {
    int64_t t = kNow - age_s * 1'000'000'000;
    return FileStamp{2049, ino, 1000 + ino, 0100755, t, t + 1};
}

// A dynamically linked final stage, its loader and libc, and haltfw-inert,
// installed into /x, as an arm an hour after their last change leaves them.
struct Installed {
    FakeStamps fs;
    std::vector<ExitrdFile> files;
    ExitrdFile inert;
    Installed() {
        files = {{"/shutdown", "", 0755, "/usr/lib/haltfw/haltfw-final", Stamp(1), kNow},
                 {"/lib64/ld-linux-x86-64.so.2", "", 0755, "/lib64/ld-linux-x86-64.so.2", Stamp(2), kNow},
                 {"/lib/x86_64-linux-gnu/libc.so.6", "", 0755, "/lib/x86_64-linux-gnu/libc.so.6", Stamp(3), kNow}};
        inert = {"/haltfw-inert", "", 0755, "/usr/lib/haltfw/haltfw-inert", Stamp(4), kNow};
        for (const ExitrdFile* f : {&files[0], &files[1], &files[2], &inert}) {
            fs.at[f->source] = f->source_stamp;
            FileStamp copy = Stamp(100 + f->source_stamp.ino, 0);
            copy.dev = 41;
            fs.at["/x" + f->path] = copy;
        }
        fs.at[kLoaderCache] = Stamp(50);
        fs.at[kSelfExe] = Stamp(70);
    }
    ExitrdContext Context() { return StampExitrdContext(fs.Lookup()); }
    // Builds the record of /x, which must fail, and says why it failed.
    std::string Refusal() {
        ExitrdRecord r;
        std::string why;
        CHECK_FALSE(BuildExitrdRecord("/x", files, &inert, Context(), fs.Lookup(), &r, &why));
        return why;
    }
};

}  // namespace

TEST_CASE("exitrd record: built from an arm's files, written and read back") {
    Installed in;
    ExitrdRecord r;
    std::string why, err;
    REQUIRE(BuildExitrdRecord("/x", in.files, &in.inert, in.Context(), in.fs.Lookup(), &r, &why));
    REQUIRE(r.entries.size() == 4);
    CHECK(r.entries[0].path == "/shutdown");
    CHECK(r.entries[0].source == "/usr/lib/haltfw/haltfw-final");
    CHECK(r.entries[3].copy_stamp == in.fs.at["/x/haltfw-inert"]);
    CHECK(r.context.loader_cache == in.fs.at[kLoaderCache]);
    CHECK_FALSE(r.context.loader_preload.has_value());
    CHECK(r.context.writer == in.fs.at[kSelfExe]);

    std::string text = SerializeExitrdRecord(r);
    CHECK(text.rfind("haltfw-files 2\nloader-cache 2049:50:1050:33261:", 0) == 0);
    CHECK(text.find("\nloader-preload -\nwriter 2049:70:1070:33261:") != std::string::npos);
    CHECK(text.find("\nfile /shutdown\t/usr/lib/haltfw/haltfw-final\t2049:1:1001:33261:") != std::string::npos);
    ExitrdRecord back;
    REQUIRE(ParseExitrdRecord(text, &back, &err));
    REQUIRE(back.entries.size() == 4);
    for (size_t i = 0; i < 4; ++i) {
        CHECK(back.entries[i].path == r.entries[i].path);
        CHECK(back.entries[i].source == r.entries[i].source);
        CHECK(back.entries[i].source_stamp == r.entries[i].source_stamp);
        CHECK(back.entries[i].copy_stamp == r.entries[i].copy_stamp);
    }
    CHECK(back.context == r.context);
    CHECK(SerializeExitrdRecord(back) == text);
}

TEST_CASE("exitrd record: nothing is recorded that could hide a change") {
    Installed in;
    // A source changed a second before it was stamped: a second change in
    // the same clock tick would leave its stamp as it is.
    in.files[2].source_stamp = Stamp(3, 1);
    CHECK(in.Refusal() == "/lib/x86_64-linux-gnu/libc.so.6 had changed less than 2 s before it was stamped");
    // Its mtime put back to an old one: the ctime still tells.
    in = Installed();
    in.files[0].source_stamp.ctime_ns = kNow - 500'000'000;
    CHECK(in.Refusal() == "/usr/lib/haltfw/haltfw-final had changed less than 2 s before it was stamped");
    // Measured from the stamp, not from when the record is written: an arm
    // that took a minute does not make a change just before its stamp safe.
    in = Installed();
    in.files[1].stamped_ns = kNow - 3600 * int64_t{1'000'000'000} + 1'000'000'000;
    CHECK(in.Refusal() == "/lib64/ld-linux-x86-64.so.2 had changed less than 2 s before it was stamped");
    in = Installed();
    in.inert.source_stamp = FileStamp{};  // could not be stat'ed before the read
    CHECK(in.Refusal() == "/usr/lib/haltfw/haltfw-inert: not stamped when read");
    in = Installed();
    in.fs.at.erase("/x/shutdown");
    CHECK(in.Refusal() == "/x/shutdown: gone");
    in = Installed();
    in.files[0].source = "/opt/a\tb";
    CHECK(in.Refusal() == "/opt/a\tb: a tab or newline in its path");
}

TEST_CASE("exitrd record: a malformed record is an error with its line") {
    const std::pair<const char*, const char*> malformed[] = {
        {"", "line 0: empty"},
        {"haltfw-files 1\n", "line 1: not a haltfw-files 2 record"},
        {"haltfw-files 2\nloader-cache 1:2:3\n", "line 2: bad stamp"},
        {"haltfw-files 2\nloader-cache -\nloader-preload -\nwriter -\nfile /shutdown\t/a\t1:2:3:4:5:6\n",
         "line 5: a file line has four tab-separated fields"},
        {"haltfw-files 2\nloader-cache -\nloader-preload -\nwriter -\nfile /shutdown\t/a\t1:2:3:4:5:x\t1:2:3:4:5:6\n",
         "line 5: bad stamp"},
        {"haltfw-files 2\nloader-cache -\nbogus 1\n", "line 3: unknown key 'bogus'"},
        {"haltfw-files 2\nloader-cache -\nloader-preload -\n",
         "line 3: no loader-cache, loader-preload or writer line"},
        {"haltfw-files 2\nloader-cache -\nloader-preload -\nwriter -\nfile shutdown\t/a\t1:2:3:4:5:6\t1:2:3:4:5:6\n",
         "line 5: a path that is empty or not absolute"},
    };
    ExitrdRecord r;
    std::string err;
    for (const auto& [text, why] : malformed) {
        INFO(text);
        CHECK_FALSE(ParseExitrdRecord(text, &r, &err));
        CHECK(err == why);
    }
    CHECK(ParseExitrdRecord(
        "haltfw-files 2\nloader-cache -\nloader-preload -\nwriter -\nfile /shutdown\t/a\t1:2:3:4:-5:6\t1:2:3:4:5:6\n",
        &r, &err));
    CHECK(r.entries.at(0).source_stamp.mtime_ns == -5);
}

TEST_CASE("exitrd record: current only while every stamp is as recorded") {
    const std::string kFinal = "/usr/lib/haltfw/haltfw-final", kInert = "/usr/lib/haltfw/haltfw-inert";
    Installed in;
    ExitrdRecord r;
    std::string why;
    REQUIRE(BuildExitrdRecord("/x", in.files, &in.inert, in.Context(), in.fs.Lookup(), &r, &why));
    CHECK(ExitrdRecordCurrent(r, "/x", kFinal, kInert, in.fs.Lookup(), &why));

    auto differs = [&](FakeStamps fs, const std::string& final_path, const std::string& inert_path) {
        why.clear();
        CHECK_FALSE(ExitrdRecordCurrent(r, "/x", final_path, inert_path, fs.Lookup(), &why));
        return why;
    };
    FakeStamps fs = in.fs;
    fs.at["/x/shutdown"].ctime_ns += 1;  // written over, the mtime put back
    CHECK(differs(fs, kFinal, kInert) == "/x/shutdown changed");
    fs = in.fs;
    fs.at["/lib/x86_64-linux-gnu/libc.so.6"].ino = 77;  // a package upgrade renames a new file in
    CHECK(differs(fs, kFinal, kInert) == "/lib/x86_64-linux-gnu/libc.so.6 changed");
    fs = in.fs;
    fs.at.erase("/x/lib64/ld-linux-x86-64.so.2");
    CHECK(differs(fs, kFinal, kInert) == "/x/lib64/ld-linux-x86-64.so.2 changed");
    fs = in.fs;
    fs.at[kLoaderCache].size += 1;  // ldconfig ran
    CHECK(differs(fs, kFinal, kInert) == "/etc/ld.so.cache or /etc/ld.so.preload changed");
    fs = in.fs;
    fs.at[kLoaderPreload] = Stamp(60);
    CHECK(differs(fs, kFinal, kInert) == "/etc/ld.so.cache or /etc/ld.so.preload changed");
    fs = in.fs;
    fs.at[kSelfExe].ino = 71;  // haltfw upgraded or rebuilt: it may install other files
    CHECK(differs(fs, kFinal, kInert) == "another haltfw program wrote it");
    CHECK(differs(in.fs, "/opt/haltfw-final", kInert) ==
          "the final stage was recorded from /usr/lib/haltfw/haltfw-final, not /opt/haltfw-final");
    CHECK(differs(in.fs, kFinal, "") ==
          "the inert program was recorded from /usr/lib/haltfw/haltfw-inert, not nowhere");

    // Without haltfw-inert: none recorded, and none in the exitrd.
    REQUIRE(BuildExitrdRecord("/x", in.files, nullptr, in.Context(), in.fs.Lookup(), &r, &why));
    CHECK(differs(in.fs, kFinal, "") == "/x/haltfw-inert is there, unrecorded");
    fs = in.fs;
    fs.at.erase("/x/haltfw-inert");
    CHECK(ExitrdRecordCurrent(r, "/x", kFinal, "", fs.Lookup(), &why));
    CHECK(differs(fs, kFinal, kInert) ==
          "the inert program was recorded from nowhere, not /usr/lib/haltfw/haltfw-inert");
}

TEST_CASE("exitrd record: the stamp of a real file changes when its content does") {
    char dir[] = "/tmp/haltfw-stamp-XXXXXX";
    REQUIRE(mkdtemp(dir));
    std::string path = std::string(dir) + "/f", err;
    REQUIRE(WriteFileAtomic(path, "one", 0644, &err));
    FileStamp a, b;
    REQUIRE(StampFile(path, &a));
    CHECK(a.size == 3);
    CHECK(a.ino != 0);
    REQUIRE(StampFile(path, &b));
    CHECK(a == b);
    REQUIRE(WriteFileAtomic(path, "two", 0644, &err));  // a rename over it: another inode
    REQUIRE(StampFile(path, &b));
    CHECK_FALSE(a == b);
    CHECK_FALSE(StampFile(std::string(dir) + "/missing", &b));
    bool removed = false;
    RemoveFile(path, &removed, &err);
    rmdir(dir);
}
