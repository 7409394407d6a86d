// The shutdown guard: from `haltfw halt` to the final stage, a copy of the
// armed ruleset in tables that the ruleset watcher's netlink socket owns
// (NFT_TABLE_F_OWNER). The kernel protects owned tables from every other
// socket: `nft flush ruleset` skips them and any change to them is refused
// (EPERM), so whatever a unit does to the user's tables on its way down,
// the copy goes on dropping what the armed ruleset drops and NATing what it
// NATs. The copy vanishes with its socket, when the final stage stops the
// watcher after it has verified the user's tables (docs/design.md).
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "nft/nft_dump.h"
#include "net/netlink_socket.h"

struct mnl_socket;

namespace haltfw {

/// The guard's copy of `armed`, pure: every table renamed (a name of the
/// form "haltfw_guard_N" that `armed` does not use in that family) and
/// flagged NFT_TABLE_F_OWNER, with every object of the table moved into
/// it. Objects keep their own names, so rules still find their chains,
/// sets and objects. By value: a caller done with `armed` moves it in, and
/// its elements are renamed without a copy.
NftRuleset GuardCopy(NftRuleset armed);

/// The guard itself: the copy loaded over a netlink socket of its own,
/// which must stay open for as long as the guard is to hold.
class NftGuard {
public:
    NftGuard();
    ~NftGuard();
    NftGuard(const NftGuard&) = delete;
    NftGuard& operator=(const NftGuard&) = delete;

    /// Loads GuardCopy(armed) in one transaction, every table created
    /// exclusively (an existing table of the same name is an error, never
    /// taken over). Errors read "guard: table haltfw_guard_0: File exists".
    /// (Moved in, `armed` is not copied: the watcher's way.)
    /// With `if_generation` (not 0: the generation at which the user's
    /// ruleset was proven to be `armed`), the load is first tried on the
    /// condition that nothing was committed since (LoadRuleset). If that
    /// holds, the user's ruleset is still `armed` at the load's own
    /// generation, which proven() then gives; if the ruleset moved on, the
    /// copy is loaded all the same and proven() stays 0.
    bool Load(NftRuleset armed, std::string* err, uint32_t if_generation = 0);
    /// Tables loaded (0 before Load succeeds).
    size_t tables() const { return tables_; }
    /// The generation the conditional load committed (the user's ruleset
    /// unchanged since `if_generation`); 0 if there was none.
    uint32_t proven() const { return proven_; }

private:
    NetlinkSocket sock_;
    size_t tables_ = 0;
    uint32_t proven_ = 0;
};

}  // namespace haltfw
