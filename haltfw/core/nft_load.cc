#include "core/nft_load.h"

#include <nftables/libnftables.h>

#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <memory>
#include <set>
#include <string_view>
#include <utility>

#include "base/text_encoding.h"
#include "core/bridge_filter.h"
#include "core/gateway.h"
#include "core/nft_includes.h"
#include "nft/sha256.h"
#include "base/text_lines.h"

namespace haltfw {
namespace {

struct CtxFree {
    void operator()(nft_ctx* c) const { nft_ctx_free(c); }
};
using CtxPtr = std::unique_ptr<nft_ctx, CtxFree>;

// nft's include statement takes a quoted string with no escapes.
std::string QuoteInclude(const std::string& path) { return "include \"" + path + "\"\n"; }

// The FILE of a program line `include "FILE"` as QuoteInclude writes it,
// or "".
std::string_view IncludedFile(std::string_view line) {
    static constexpr std::string_view kOpen = "include \"";
    if (!line.starts_with(kOpen) || !line.ends_with('"') || line.size() <= kOpen.size() + 1) return {};
    std::string_view file = line.substr(kOpen.size(), line.size() - kOpen.size() - 1);
    return file.find('"') == std::string_view::npos ? file : std::string_view{};
}

bool WriteAll(int fd, std::string_view data) {
    while (!data.empty()) {
        ssize_t n = write(fd, data.data(), data.size());
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return false;
        data.remove_prefix(static_cast<size_t>(n));
    }
    return true;
}

// The rules files haltfw.conf names, as libnftables can read them when they
// were saved on Windows. nft 1.0.6 reads neither a UTF-8 byte order mark nor
// CRLF line ends ("syntax error, unexpected junk" at every line end), and
// it opens the files itself, through the program's include lines. So a file
// with either is read here, made Unix text (every line where it was:
// base/text_encoding.h) and included from a memfd instead; nft's messages,
// which then name the memfd, are made to name the file again. A file
// without either is included as it is, and one that cannot be read is left
// for nft to report, as before.
class UnixCopies {
public:
    UnixCopies() = default;
    UnixCopies(const UnixCopies&) = delete;
    UnixCopies& operator=(const UnixCopies&) = delete;
    ~UnixCopies() {
        for (int fd : fds_) (void)close(fd);  // a memfd: nothing to lose
    }

    // `program` with each rules file that needs it included from its copy.
    bool Rewrite(std::string_view program, std::string* out, std::string* err) {
        out->clear();
        for (std::string_view rest = program, line; NextLine(&rest, &line);) {
            std::string file(IncludedFile(line)), text, why;
            if (file.empty() || !ReadConfigInput(file, &text, &why) || !HasWindowsTextMarks(text)) {
                out->append(line).push_back('\n');
                continue;
            }
            int fd = memfd_create("haltfw-rules", MFD_CLOEXEC);
            if (fd >= 0) fds_.push_back(fd);
            if (fd < 0 || !WriteAll(fd, UnixText(text))) {
                *err = "rules file " + QuoteValue(file) + ": a copy without CRLF line ends: " + std::strerror(errno);
                return false;
            }
            // thread-self: a trial load runs on a thread of its own.
            std::string copy = "/proc/thread-self/fd/" + std::to_string(fd);
            names_.emplace_back(copy, file);
            out->append(QuoteInclude(copy));
        }
        if (names_.empty()) *out = program;  // byte for byte what was asked
        return true;
    }

    std::string Rename(const std::string& messages) const { return NamingFiles(messages, names_); }

private:
    std::vector<int> fds_;
    std::vector<std::pair<std::string, std::string>> names_;  // (copy, file)
};

// Runs `program` in a fresh context with output and errors buffered, so
// nothing libnftables says reaches our stdout or stderr unasked.
bool Run(const std::string& program, bool dry_run, std::string* err) {
    UnixCopies copies;
    std::string text;
    if (!copies.Rewrite(program, &text, err)) return false;
    CtxPtr ctx(nft_ctx_new(NFT_CTX_DEFAULT));
    if (!ctx) {
        *err = "nft_ctx_new: out of memory";
        return false;
    }
    nft_ctx_set_dry_run(ctx.get(), dry_run);
    nft_ctx_buffer_output(ctx.get());
    nft_ctx_buffer_error(ctx.get());
    int rc = nft_run_cmd_from_buffer(ctx.get(), text.c_str());  // the program, rules files maybe copied
    if (rc != 0) {
        std::string msg = nft_ctx_get_error_buffer(ctx.get());
        while (!msg.empty() && msg.back() == '\n') msg.pop_back();
        msg = copies.Rename(WithoutProgramIncludeLines(msg));
        *err = msg.empty() ? "nft: failed without a message" : msg;
        return false;
    }
    return true;
}

}  // namespace

std::string NamingFiles(std::string_view messages, const std::vector<std::pair<std::string, std::string>>& names) {
    std::string out(messages);
    for (const auto& [copy, file] : names) {
        for (size_t at = out.find(copy); at != std::string::npos; at = out.find(copy, at)) {
            size_t end = at + copy.size();
            if (end < out.size() && out[end] >= '0' && out[end] <= '9') {  // fd/1 of fd/12
                at = end;
                continue;
            }
            out.replace(at, copy.size(), file);
            at += file.size();
        }
    }
    return out;
}

std::string WithoutProgramIncludeLines(const std::string& messages) {
    static constexpr std::string_view kOurs = "In file included from <cmdline>:";
    std::string out;
    std::string_view rest = messages;
    for (std::string_view line; NextLine(&rest, &line);) {
        if (line.starts_with(kOurs)) continue;
        out.append(line);
        if (!rest.empty() || messages.ends_with('\n')) out.push_back('\n');  // as it came
    }
    return out;
}

std::string RulesetProgram(const Config& cfg) {
    std::string p = "flush ruleset\n" + GatewayRuleset(cfg) + BridgeFilterRuleset(cfg);
    for (const RuleFile& f : cfg.rule_files) p += QuoteInclude(f.path);
    return p;
}

bool RulesetInputHash(const Config& cfg, std::string* hash, std::string* err) {
    Sha256 h;
    // Each value with its length before it, so that no two different
    // inputs hash the same bytes.
    auto field = [&h](std::string_view tag, std::string_view value) {
        h.Update(tag);
        h.Update("\0", 1);
        h.Update(std::to_string(value.size()));
        h.Update("\0", 1);
        h.Update(value);
    };
    // The generated text is an input too (a changed [gateway] key must
    // reload).
    if (cfg.gateway) field("[gateway]", GatewayRuleset(cfg));
    if (cfg.bridge_filter) field("[bridge-filter]", BridgeFilterRuleset(cfg));
    // Every file the load reads, with what each include statement found:
    // an edit anywhere, or a file added to or taken from an included
    // directory, changes the hash. A rules file that cannot be read is an
    // error; an included one is hashed as unreadable, and nft's load says
    // why, with the line of the include. The bytes as saved, CRs and byte
    // order mark too, though the load drops them: this hash only decides
    // whether apply loads again, and a load too many is harmless, while the
    // promise (the armed ruleset is what the kernel got) rests on the digest
    // of the kernel's own dump, the same for a CRLF file as for its LF twin.
    std::vector<std::string> roots;
    for (const RuleFile& f : cfg.rule_files) roots.push_back(f.path);
    std::set<std::string> root_set(roots.begin(), roots.end());
    bool ok = true;
    VisitRulesetSources(roots, NftDefaultIncludePaths(), [&](const NftSource& src) {
        if (!src.error.empty() && root_set.count(src.path) && ok) {
            *err = "read " + src.path + ": " + src.error;
            ok = false;
        }
        field("file", src.path);
        if (src.error.empty()) field("content", src.content);
        else field("unreadable", src.error);
        for (const auto& [name, files] : src.includes) {
            field("include", name);
            for (const std::string& f : files) field("found", f);
        }
    });
    if (!ok) return false;
    *hash = h.HexFinal();
    return true;
}

bool NftCheck(const std::string& program, std::string* err) { return Run(program, true, err); }

bool NftCommit(const std::string& program, std::string* err) { return Run(program, false, err); }

}  // namespace haltfw
