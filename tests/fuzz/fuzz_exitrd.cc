// The exitrd's text inputs (exitrd.h): the record of its files
// (haltfw.files, which the next arm trusts to skip a byte-for-byte
// compare), `ld.so --list` output, and mountinfo for the exitrd's mount.
// A record that parses serialises and parses back to the same record.
#include "arm/exitrd.h"
#include "fuzz_check.h"

using namespace haltfw;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    std::string_view s = FuzzText(data, size);
    ExitrdRecord r;
    std::string err;
    if (ParseExitrdRecord(s, &r, &err)) {
        std::string text = SerializeExitrdRecord(r);
        ExitrdRecord back;
        FUZZ_CHECK(ParseExitrdRecord(text, &back, &err));
        FUZZ_CHECK(back.context == r.context && back.entries.size() == r.entries.size());
        for (size_t i = 0; i < r.entries.size(); ++i) {
            const ExitrdRecord::Entry &a = r.entries[i], &b = back.entries[i];
            FUZZ_CHECK(a.path == b.path && a.source == b.source && a.source_stamp == b.source_stamp &&
                       a.copy_stamp == b.copy_stamp);
        }
        FUZZ_CHECK(SerializeExitrdRecord(back) == text);
    } else {
        FUZZ_CHECK(err.starts_with("line "));
    }
    std::vector<std::string> libs;
    if (ParseLoaderList(s, &libs, &err))
        for (const std::string& l : libs) FUZZ_CHECK(!l.empty() && l[0] == '/');
    for (const char* path : {"/run/initramfs", "/"}) {
        std::optional<ExitrdMount> m = FindMount(s, path);
        if (m) {
            FUZZ_CHECK(m->mount_point == path);
            (void)m->HasOption("noexec");
            (void)m->HasOption("");
        }
    }
    return 0;
}
