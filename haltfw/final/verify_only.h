// `haltfw-final --verify MANIFEST`, not PID 1: the final stage's ruleset,
// link and sysctl checks (with their repairs and the fail-closed step) in
// the current network namespace, and the report they make: for tests, and
// for an operator who wants to see what the final stage would say.
#pragma once

namespace haltfw {

/// Prints the report on stdout; returns 0 if every check passed, 1 if one
/// failed, 2 if the manifest cannot be read (said on stderr).
int VerifyOnly(const char* manifest_path);

}  // namespace haltfw
