// The files an nft ruleset reads: the rules files and, through their
// `include` statements, nested, every file those name. Found as libnftables
// finds them (nftables 1.0.6, src/scanner.l: scanner_include_file,
// include_glob), without parsing the ruleset, so that the input hash
// (nft_load.h) changes when any of them does and apply never says "nothing
// to change" over an edited included file.
//
// Conservative by construction: a name that only looks like an include (in
// a rule nft would reject, say) is followed too, which can only make the
// hash change more often; an include nft follows is never missed.
#pragma once

#include <functional>
#include <string>
#include <string_view>
#include <vector>

namespace haltfw {

/// libnftables' include path when none is added (`nft -h`: "Default is:
/// /etc" on Debian 12); haltfw adds none.
const std::vector<std::string>& NftDefaultIncludePaths();

/// The names of the include statements in `text`, in order: the word
/// `include` outside comments and quoted strings, followed (after blanks)
/// by a quoted string, nft's QUOTED_STRING, which has no escapes. Pure.
std::vector<std::string> IncludeNames(std::string_view text);

/// The files `name` includes, in the order nft reads them: a name starting
/// with '/', './' or '../' as it is, any other under each of
/// `include_paths` in turn (a name without wildcards: the first path that
/// has it). Shell wildcards expand as glob(3) does for nft: sorted, dot
/// files not matched, directories left out (so a directory named without
/// a wildcard includes nothing, as in nft 1.0.6). Reads directories only.
std::vector<std::string> ResolveInclude(const std::string& name, const std::vector<std::string>& include_paths);

struct NftSource {
    std::string path;
    std::string content;  ///< The file's bytes, when it could be read.
    std::string error;    ///< Else why not ("No such file or directory",
                          ///< "not a regular file").
    /// Its include statements, each with the files it resolved to.
    std::vector<std::pair<std::string, std::vector<std::string>>> includes;
};

/// Calls `visit` for `roots` and every file they include, nested, each path
/// once, depth first in the order nft reads them. A file that cannot be
/// read is visited with its error and includes nothing; a FIFO or device
/// is never opened for reading (nft would block on it; the load fails
/// there, not here).
void VisitRulesetSources(const std::vector<std::string>& roots, const std::vector<std::string>& include_paths,
                         const std::function<void(const NftSource&)>& visit);

}  // namespace haltfw
