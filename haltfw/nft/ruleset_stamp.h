// When a ruleset generation id proves something. The kernel bumps a
// network namespace's ruleset generation id by one on every committed
// transaction (nf_tables_commit; it skips 0 when it wraps, and starts at 1),
// and never on the packet path's updates of a set. So two reads of the same
// id, in the same namespace and the same boot, mean that nothing was
// committed in between: a ruleset proven at the first read (by a whole
// dump, say) is still the ruleset at the second, with no dump at all.
// What no commit changes is not covered: set elements whose timeouts
// expire, and what the packet path writes (dynamic sets, counters, quotas).
// The id alone means nothing in another namespace or after a reboot (every
// namespace counts from 1), so a stamp holds the boot and the namespace too.
#pragma once

#include <cstdint>
#include <string>

namespace haltfw {

struct RulesetStamp {
    std::string boot_id;      ///< /proc/sys/kernel/random/boot_id, as read (36 characters).
    uint64_t netns = 0;       ///< The namespace's cookie (net/netns_cookie.h).
    uint32_t generation = 0;  ///< 0: no stamp (the kernel never uses 0).

    bool operator==(const RulesetStamp&) const = default;
};

/// The boot's random id (/proc/sys/kernel/random/boot_id), without its
/// newline. Errors read "boot id: /proc/sys/kernel/random/boot_id: REASON".
bool ReadBootId(std::string* id, std::string* err);

/// The current boot, network namespace and ruleset generation. Errors read
/// "boot id: REASON", "network namespace cookie: ..." or "get generation: ...".
bool ReadRulesetStamp(RulesetStamp* s, std::string* err);

/// Whether `known` (a stamp at which the ruleset was proven) and `now` name
/// one ruleset: both complete, and equal. Pure.
inline bool SameRuleset(const RulesetStamp& known, const RulesetStamp& now) {
    return known.generation != 0 && !known.boot_id.empty() && known.netns != 0 && known == now;
}

/// The generation the kernel gives the next commit after `g`. Pure.
inline uint32_t NextGeneration(uint32_t g) { return g + 1 == 0 ? 1 : g + 1; }

}  // namespace haltfw
