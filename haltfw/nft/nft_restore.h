// Putting a ruleset back from its canonical dump, over netlink with libmnl
// alone: the final stage's way to repair a ruleset that something flushed
// or changed on the way down, when libnftables is long gone.
#pragma once

#include <string>

#include "nft/nft_dump.h"

struct mnl_socket;

namespace haltfw {

/// Replaces the whole ruleset of the current network namespace with `rs`
/// in one transaction: a flush of every table, then each object in
/// canonical (restore) order. All or nothing: if the kernel refuses any
/// part, nothing changes. Errors read
/// "restore: rule in inet filter forward: No such file or directory".
bool RestoreRuleset(const NftRuleset& rs, std::string* err);

enum class LoadMode {
    kReplaceAll,    ///< Flush the ruleset (but tables other sockets own), then load.
    kAddNewTables,  ///< Load beside what is there; a table that exists is an error.
};

/// The transaction RestoreRuleset sends, over a bound NETLINK_NETFILTER
/// socket of the caller's: the socket that creates a table owns it if the
/// table is flagged NFT_TABLE_F_OWNER (the shutdown guard's).
bool LoadRuleset(mnl_socket* sock, const NftRuleset& rs, LoadMode mode, std::string* err);

}  // namespace haltfw
