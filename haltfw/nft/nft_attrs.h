// Reading and editing runs of netlink attributes as raw bytes: what the
// restore needs to adjust a dumped object to the form the kernel accepts
// back, without a second round through libnftnl. Pure, allocation only;
// nothing here throws on malformed input (a truncated run ends the walk).
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

namespace haltfw {

/// Calls `visit(type, value)` for each attribute of `attrs` (type without
/// the NLA_F_* flags), in order; stops at the first malformed header.
void ForEachAttr(std::string_view attrs, const std::function<void(uint16_t, std::string_view)>& visit);

/// The value of the first attribute of `type`, if any.
bool FindAttr(std::string_view attrs, uint16_t type, std::string_view* value);

/// A string attribute's value without its terminating NUL.
std::string AttrString(std::string_view value);

/// A big-endian u32 attribute's value (0 if it is too short).
uint32_t AttrBe32(std::string_view value);

/// Rebuilds `attrs`: `edit` sees each attribute's type and a copy of its
/// value; it returns false to drop the attribute, or changes the value
/// (lengths are recomputed, padding zeroed, NLA_F_* flags kept).
using AttrEdit = std::function<bool(uint16_t type, std::string* value)>;
std::string EditAttrs(std::string_view attrs, const AttrEdit& edit);

/// Jump and goto targets of a rule's payload (NFTA_RULE_* attributes): the
/// chains its immediate verdicts name, in order.
std::vector<std::string> RuleJumpTargets(std::string_view rule_payload);

/// A set element's key (the bytes of its NFTA_SET_ELEM_KEY value) and
/// whether it ends an interval (NFT_SET_ELEM_INTERVAL_END); an element with
/// no key gets an empty one.
void ElementKey(std::string_view elem_payload, std::string* key, bool* interval_end);
/// The same, as a view into `elem_payload`, without allocating: what
/// sorting a million elements calls twenty million times.
void ElementKeyView(std::string_view elem_payload, std::string_view* key, bool* interval_end);

/// Whether a rule's payload holds an expression named `name` ("quota"),
/// nested ones (a dynset's, a set element's) included.
bool RuleHasExpression(std::string_view rule_payload, const std::string& name);

/// Whether a set's payload declares a per-element expression `name`
/// (`set s { ...; quota 10 mbytes; }`).
bool SetHasExpression(std::string_view set_payload, const std::string& name);

/// A stateful object's type (NFT_OBJECT_*), 0 if its payload has none.
uint32_t ObjectType(std::string_view obj_payload);

/// A rule's payload as the kernel takes it back: attributes that every dump
/// carries but the kernel refuses in a new rule, with no meaning of their
/// own, are dropped (a dynset's timeout of 0 for a set without timeouts;
/// an exthdr write's or strip's flags, a strip's offset and length).
std::string RuleForRestore(std::string_view rule_payload);

/// A set element's payload as the kernel takes it back: `elem_payload`
/// itself, or for an interval's end (NFT_SET_ELEM_INTERVAL_END) that
/// carries attributes the kernel refuses on one (EINVAL), a copy without
/// them in *scratch. The kernel dumps each end element of a set with a
/// default timeout with a timeout of 0 (kernel 6.18); the end means no
/// more than its key, so nothing is lost. No allocation for other elements.
std::string_view ElementForRestore(std::string_view elem_payload, std::string* scratch);

}  // namespace haltfw
