// A trial load: the config's ruleset committed in a scratch network
// namespace and dumped there, so that check can judge the ruleset the kernel
// would hold (its statements, its tables' flags) before apply loads it,
// without touching the live ruleset.
#pragma once

#include <string>
#include <vector>

#include "nft/nft_dump.h"

namespace haltfw {

/// Creates a scratch network namespace holding down veth links named as in
/// `link_names` (rules may name interfaces: `iif "eth0"` is resolved when
/// loaded), commits `program` there, dumps the result into *out and returns
/// to the calling thread's namespace. Aborts the process if it cannot return:
/// carrying on in the wrong namespace would misreport everything after.
bool TrialLoad(const std::string& program, const std::vector<std::string>& link_names, NftRuleset* out,
               std::string* err);

/// A trial restore: `rs` put back, as the final stage and the ruleset
/// watcher would put it back over a flushed ruleset, in a scratch network
/// namespace (links as for TrialLoad), then read back. *problem is empty if
/// it came back with the same digest, else it says what went wrong (the
/// kernel's refusal, or the digest it held instead). False, with *err, only
/// when the trial itself could not run.
bool TrialRestore(const NftRuleset& rs, const std::vector<std::string>& link_names, std::string* problem,
                  std::string* err);

}  // namespace haltfw
