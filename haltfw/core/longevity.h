// What changes in a halted box as time passes, with nobody left to act:
// the readiness findings about later (AssessReadiness calls them). Each
// says what happens and when, as a warning, or what was found fine.
// Pure, like readiness.cc: everything comes in as values (sysctls through
// ReadinessInputs::read_sysctl, the ruleset as the kernel dumped it).
#pragma once

#include <cstdint>
#include <string>

#include "core/readiness.h"
#include "net/netstate.h"
#include "nft/nft_dump.h"

namespace haltfw {

/// IPv6 temporary (privacy) addresses on the configured interfaces, under
/// use_tempaddr as the armed sysctls leave it: the kernel makes and retires
/// them on its own timers.
void CheckTemporaryAddresses(const ReadinessInputs& in, Readiness* r);

/// Sets the packet path adds to ('add @s', 'update @s', meters): the size
/// the kernel holds them to, and what a full one does.
void CheckFillingSets(const NftRuleset& rs, Readiness* r);

/// Elements the ruleset loads with a timeout: the kernel deletes them when
/// it runs out, and nothing adds them back in a halted box.
void CheckExpiringElements(const NftRuleset& rs, Readiness* r);

/// Whether connections that end unseen fill the conntrack table within the
/// established timeout.
void CheckConntrackFill(const ReadinessInputs& in, Readiness* r);

/// [halt] netconsole: the kernel log leaves in cleartext, unauthenticated,
/// past every rule (netpoll); a warning when it goes out on the gateway
/// profile's WAN, else a fine line that says so.
void CheckNetconsole(const ReadinessInputs& in, Readiness* r);

/// WireGuard peers the halted box must reach on its own: an endpoint fixed
/// at arm that nothing halted can learn again if it changes, and, without
/// a real-time clock, handshakes the box starts after a reboot carrying a
/// timestamp behind the last one the peer saw (which the peer rejects).
void CheckWireguardPeers(const ReadinessInputs& in, Readiness* r);

/// A kernel-made IPv6 temporary address (IFA_F_TEMPORARY: the same bit as
/// IPv4's IFA_F_SECONDARY, hence the family).
bool IsTemporaryAddress(const Address& a);

/// Milliseconds the way nft writes a timeout: "1h30m", "5m", "250ms".
std::string FormatTimeoutMs(uint64_t ms);

}  // namespace haltfw
