#include "core/nft_load.h"

#include <nftables/libnftables.h>

#include <memory>
#include <set>
#include <string_view>

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

// Runs `text` in a fresh context with output and errors buffered, so nothing
// libnftables says reaches our stdout or stderr unasked.
bool Run(const std::string& text, bool dry_run, std::string* err) {
    CtxPtr ctx(nft_ctx_new(NFT_CTX_DEFAULT));
    if (!ctx) {
        *err = "nft_ctx_new: out of memory";
        return false;
    }
    nft_ctx_set_dry_run(ctx.get(), dry_run);
    nft_ctx_buffer_output(ctx.get());
    nft_ctx_buffer_error(ctx.get());
    int rc = nft_run_cmd_from_buffer(ctx.get(), text.c_str());
    if (rc != 0) {
        std::string msg = nft_ctx_get_error_buffer(ctx.get());
        while (!msg.empty() && msg.back() == '\n') msg.pop_back();
        msg = WithoutProgramIncludeLines(msg);
        *err = msg.empty() ? "nft: failed without a message" : msg;
        return false;
    }
    return true;
}

// nft's include statement takes a quoted string with no escapes.
std::string QuoteInclude(const std::string& path) { return "include \"" + path + "\"\n"; }

}  // namespace

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
    std::string p = "flush ruleset\n" + GatewayRuleset(cfg);
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
    // Every file the load reads, with what each include statement found:
    // an edit anywhere, or a file added to or taken from an included
    // directory, changes the hash. A rules file that cannot be read is an
    // error; an included one is hashed as unreadable, and nft's load says
    // why, with the line of the include.
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
