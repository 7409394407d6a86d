#include "exitrd.h"

#include <elf.h>

#include <catch2/catch.hpp>
#include <cstring>

#include "files.h"

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
