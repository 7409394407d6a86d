// What `haltfw apply` would do: the difference between the config and the
// live network state, as a list of actions. Pure: the live state comes in as
// values and readers, so the plan is computed (and unit-tested) without root,
// and `apply --dry-run` and `check` print the same plan `apply` executes.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/config.h"
#include "core/diag.h"
#include "net/netstate.h"
#include "net/wireguard.h"

namespace haltfw {

enum class ActionKind {
    kLinkMtu,         ///< Set `mtu` on `ifindex`.
    kLinkUp,          ///< Set IFF_UP on `ifindex`.
    kAddAddress,      ///< Add `prefix` on `ifindex` (static, infinite lifetime).
    kMakePermanent,   ///< Replace the finite-lifetime `prefix` on `ifindex` by a static one.
    kReplaceRoute,    ///< Add or replace `route`; `previous` is what it replaces.
    kLoadModule,      ///< modprobe `name`.
    kRuleset,         ///< Commit the config's ruleset in one transaction.
    kSysctl,          ///< Write `value` to sysctl `name`; `previous` value kept for undo.
    kCreateBridge,    ///< Create bridge `device` with `bridge_options` (down, no ports).
    kCreateVlan,      ///< Create VLAN `device`, ID `vlan_id`, on link `peer`.
    kSetMaster,       ///< Make `ifindex` a port of bridge `peer` (0: release it); `previous_master` for undo.
    kBridgeOptions,   ///< Set `bridge_options` on bridge `ifindex`; the previous ones kept for undo.
    kCreateWireguard, ///< Create WireGuard device `device` (down, unconfigured).
    kWireguard,       ///< Set `wireguard` on its device, peers replaced; `previous_wireguard` for undo.
};

struct Action {
    ActionKind kind;
    std::string what;            ///< For people: "interface 'wan' (eth0): add address 198.51.100.1/24".
    int line = 0;                ///< Config line that asked for it (0: built-in).
    int ifindex = 0;
    uint32_t mtu = 0;
    uint32_t previous_mtu = 0;
    Prefix prefix;
    Route route;
    std::optional<Route> previous_route;
    std::string name;            ///< Sysctl key or module name.
    std::string value;
    std::string previous_value;
    /// kSysctl of a key that exists only once a module this plan loads is
    /// in (SysctlModule): `previous_value` is unknown at plan time, so apply
    /// reads it just before the write, writes nothing if it already holds
    /// `value`, and fails if the key is still missing.
    bool previous_at_apply = false;
    /// The link acted on by name, for a link this plan creates: apply looks
    /// its index up when `ifindex` is 0 (and puts it in `route.oif`).
    std::string device;
    /// The other link of kSetMaster (the bridge) and kCreateVlan (the
    /// parent): its index, or 0 and its name when this plan creates it.
    int peer = 0;
    std::string peer_name;
    int previous_master = 0;
    uint16_t vlan_id = 0;
    Link::BridgeOptions bridge_options;
    Link::BridgeOptions previous_bridge_options;
    /// Acts on a link this plan creates: no undo of its own, the link's
    /// deletion undoes it.
    bool on_new_link = false;
    /// kWireguard: the whole device as wanted, and as it was (unset for a
    /// device this plan creates). They hold keys: never formatted.
    std::shared_ptr<const WgDevice> wireguard;
    std::shared_ptr<const WgDevice> previous_wireguard;
};

/// A configured interface matched to the live link it names.
struct ResolvedInterface {
    const InterfaceConfig* config = nullptr;
    const Link* link = nullptr;  ///< nullptr when the device does not exist.
};

struct Plan {
    std::vector<ResolvedInterface> interfaces;
    std::vector<Action> actions;
    /// Problems that stop apply before it changes anything, e.g.
    /// "haltfw.conf:5: interface 'wan': device 'eth7' does not exist".
    Diagnostics problems;

    bool Empty() const { return actions.empty(); }
};

/// What the plan needs to read of the system besides the network state.
struct PlanInputs {
    /// Reads a sysctl; false when it does not exist.
    std::function<bool(const std::string& key, std::string* value)> read_sysctl;
    /// True when the kernel already has the module (loaded or built in).
    std::function<bool(const std::string& name)> module_present;
    /// Reads a live WireGuard device (WG_CMD_GET_DEVICE); false with *err.
    std::function<bool(const std::string& device, WgDevice* out, std::string* err)> read_wireguard;
    /// True when the live ruleset is the one this config produces, so it
    /// need not be loaded again.
    bool ruleset_current = false;
};

/// The module whose loading makes a sysctl exist: "nf_conntrack" for
/// "net.netfilter.nf_conntrack_*" and "net.nf_conntrack_max" (the key
/// appears only once the module is in, and the module comes in by itself
/// only when a ruleset first uses conntrack); "" for any other key. Pure.
std::string SysctlModule(const std::string& key);

/// Matches each configured interface to a live link (by name or MAC).
std::vector<ResolvedInterface> ResolveInterfaces(const Config& cfg, const NetState& state);

/// Computes the actions in the order apply runs them: modules ([halt]
/// modules, which the ruleset may need, and those a configured sysctl
/// needs to exist at all, SysctlModule), the ruleset (first, so that a ruleset the kernel refuses
/// changes nothing at all, and the firewall is in place before any address
/// comes up), the bridges and VLANs to create (topology.h, each after what
/// it sits on), the sysctls of those devices and of bridge ports (before
/// any of them goes up: an invisible bridge never shows itself, not even
/// for a moment), bridge options and ports, links (MTU, then up),
/// addresses, routes, and the other sysctls last, so forwarding is turned
/// on only once everything else is in place.
Plan ComputePlan(const Config& cfg, const NetState& state, const PlanInputs& in);

/// The routes a configured interface asks for, in config order: default
/// routes from gateway/gateway6, then the `route =` entries.
std::vector<std::pair<Route, int>> WantedRoutes(const InterfaceConfig& ifc, int ifindex);

}  // namespace haltfw
