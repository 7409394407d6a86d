// haltfw-inert's pure part (inert.h): its command line (the input split at
// NUL bytes) and its INERT line, formatted into buffers of every size and
// read back by verify-console's parser (report.h).
#include <memory>
#include <string>
#include <vector>

#include "fuzz_check.h"
#include "halt/inert_args.h"
#include "halt/report.h"

using namespace haltfw;

namespace {

void CheckArgs(std::string_view s) {
    std::vector<std::string> words = {"haltfw-inert"};
    for (size_t i = 0; i <= s.size() && words.size() < 16;) {
        size_t nul = s.find('\0', i);
        if (nul == std::string_view::npos) nul = s.size();
        words.emplace_back(s.substr(i, nul - i));
        i = nul + 1;
    }
    std::vector<const char*> argv;
    for (const std::string& w : words) argv.push_back(w.c_str());
    argv.push_back(nullptr);
    int argc = static_cast<int>(words.size());
    InertArgs args;
    const char* err = nullptr;
    int bad = -1;
    if (ParseInertArgs(argc, argv.data(), &args, &err, &bad)) {
        // What it read, said again, reads the same.
        std::string cad = std::string("--ctrl-alt-del=") + CtrlAltDelWord(args.ctrl_alt_del);
        const char* again[] = {"haltfw-inert", cad.c_str(), args.help ? "--help" : "--ctrl-alt-del=ignore", nullptr};
        if (!args.help) again[2] = nullptr;
        InertArgs back;
        FUZZ_CHECK(ParseInertArgs(args.help ? 3 : 2, again, &back, &err, &bad));
        FUZZ_CHECK(back.ctrl_alt_del == args.ctrl_alt_del && back.help == args.help);
    } else {
        FUZZ_CHECK(err != nullptr && bad >= 1 && bad < argc);
        FUZZ_CHECK(args.ctrl_alt_del == CtrlAltDelAction::kIgnore);
    }
}

long Take(std::string_view* s) {
    long v = 0;
    for (size_t i = 0; i < sizeof v && !s->empty(); ++i) {
        v = static_cast<long>(static_cast<unsigned long>(v) << 8 | static_cast<uint8_t>(s->front()));
        s->remove_prefix(1);
    }
    return v;
}

void CheckLine(std::string_view s) {
    if (s.empty()) return;
    size_t size = static_cast<uint8_t>(s.front());  // 0..255: cut lines too
    s.remove_prefix(1);
    InertFigures f;
    for (long* field : {&f.rss_kib, &f.rss_anon_kib, &f.rss_file_kib, &f.vm_rss_kib, &f.vm_hwm_kib, &f.mem_used_kib,
                        &f.removed, &f.remove_failed, &f.freed_kib, &f.left_kib})
        *field = Take(&s);
    f.ctrl_alt_del = static_cast<CtrlAltDelAction>(size % 3);
    // Exactly `size` bytes, so that ASan sees a write one past them.
    std::unique_ptr<char[]> buf(new char[size == 0 ? 1 : size]);
    size_t len = FormatInertLine(f, size == 0 ? nullptr : buf.get(), size);
    if (size == 0) {
        FUZZ_CHECK(len == 0);
        return;
    }
    FUZZ_CHECK(len < size && buf[len] == '\0');
    char whole[512];
    len = FormatInertLine(f, whole, sizeof whole);
    FUZZ_CHECK(len > 0 && len + 1 < sizeof whole && whole[len - 1] == '\n');
    // verify-console reads the line after a complete report.
    std::string log = "HALTFW: report begin (haltfw 0)\nHALTFW: HALTED-OK lines=1\n" + std::string(whole, len);
    ConsoleReport r = ParseConsole(log);
    FUZZ_CHECK(r.InertField("rss_kib") == std::to_string(f.rss_kib));
    FUZZ_CHECK(r.InertField("left_kib") == std::to_string(f.left_kib));
    FUZZ_CHECK(r.InertField("ctrl_alt_del") == CtrlAltDelWord(f.ctrl_alt_del));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    std::string_view s = FuzzText(data, size);
    CheckArgs(s);
    CheckLine(s);
    return 0;
}
