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
/// With `if_generation` (not 0), the transaction is conditional
/// (NFNL_BATCH_GENID): the kernel takes it only while the ruleset is at that
/// generation, and then nothing else is committed between; the ruleset is
/// then at NextGeneration(if_generation) (nft/ruleset_stamp.h). If it had
/// moved on, nothing is loaded, and *moved (if given) is set. Errors read
/// "restore: the ruleset moved on from generation 41; nothing loaded".
bool LoadRuleset(mnl_socket* sock, const NftRuleset& rs, LoadMode mode, std::string* err, uint32_t if_generation = 0,
                 bool* moved = nullptr);

}  // namespace haltfw
