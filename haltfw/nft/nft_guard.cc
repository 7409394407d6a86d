#include "nft/nft_guard.h"

#include <libmnl/libmnl.h>
#include <linux/netfilter/nf_tables.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>
#include <map>
#include <set>
#include <utility>

#include "nft/nft_attrs.h"
#include "nft/nft_restore.h"
#include "nft/ruleset_stamp.h"

namespace haltfw {
namespace {

// Every kind's table attribute is the first of its message
// (NFTA_TABLE_NAME for a table itself); elements carry the table in their
// message header, built at load time from NftElements::table.
constexpr uint16_t kTableAttr = 1;
static_assert(NFTA_TABLE_NAME == kTableAttr && NFTA_CHAIN_TABLE == kTableAttr && NFTA_RULE_TABLE == kTableAttr &&
              NFTA_SET_TABLE == kTableAttr && NFTA_OBJ_TABLE == kTableAttr && NFTA_FLOWTABLE_TABLE == kTableAttr);

std::string Be32(uint32_t v) {
    return std::string{static_cast<char>(v >> 24), static_cast<char>(v >> 16), static_cast<char>(v >> 8),
                       static_cast<char>(v)};
}

// The payload with its table name replaced; for a table, flagged owned.
// An element's payload names no table (its attribute 1 is the key).
std::string Moved(const NftObject& o, const std::string& table) {
    bool has_flags = false;
    std::string out = EditAttrs(o.payload, [&](uint16_t type, std::string* v) {
        if (type == kTableAttr) *v = table + '\0';
        if (o.kind == NftKind::kTable && type == NFTA_TABLE_FLAGS) {
            *v = Be32(AttrBe32(*v) | NFT_TABLE_F_OWNER);
            has_flags = true;
        }
        return true;
    });
    if (o.kind == NftKind::kTable && !has_flags) {
        nlattr h{static_cast<uint16_t>(sizeof(nlattr) + 4), NFTA_TABLE_FLAGS};
        out.append(reinterpret_cast<const char*>(&h), sizeof h);
        out += Be32(NFT_TABLE_F_OWNER);
    }
    return out;
}

}  // namespace

NftRuleset GuardCopy(NftRuleset armed) {
    std::set<std::pair<uint8_t, std::string>> used;
    for (const NftObject& o : armed.objects)
        if (o.kind == NftKind::kTable) used.emplace(o.family, o.name);
    std::map<std::pair<uint8_t, std::string>, std::string> renamed;
    size_t n = 0;
    for (const NftObject& o : armed.objects) {
        if (o.kind != NftKind::kTable) continue;
        std::string name;
        do name = "haltfw_guard_" + std::to_string(n++);
        while (used.count({o.family, name}));
        renamed[{o.family, o.name}] = name;
    }
    // Renamed where they are: `armed` is the caller's copy, and the
    // elements (a large set's, in the watcher) are not copied once more.
    NftRuleset copy;
    for (NftObject& o : armed.objects) {
        auto it = renamed.find({o.family, o.kind == NftKind::kTable ? o.name : o.table});
        if (it == renamed.end()) continue;  // an object of no table: cannot be
        o.payload = Moved(o, it->second);
        if (o.kind == NftKind::kTable) {
            o.name = it->second;
            o.flags |= NFT_TABLE_F_OWNER;
        } else {
            o.table = it->second;
        }
        copy.objects.push_back(std::move(o));
    }
    for (NftElements& g : armed.elements) {
        auto it = renamed.find({g.family, g.table});
        if (it == renamed.end()) continue;
        g.table = it->second;  // elements name no table in their bytes
        copy.elements.push_back(std::move(g));
    }
    return copy;
}


NftGuard::NftGuard() = default;
NftGuard::~NftGuard() = default;

bool NftGuard::Load(NftRuleset armed, std::string* err, uint32_t if_generation) {
    proven_ = 0;
    sock_.reset(mnl_socket_open2(NETLINK_NETFILTER, SOCK_CLOEXEC));
    if (!sock_ || mnl_socket_bind(sock_.get(), 0, MNL_SOCKET_AUTOPID) < 0) {
        *err = std::string("guard: socket(NETLINK_NETFILTER): ") + std::strerror(errno);
        sock_.reset();
        return false;
    }
    NftRuleset copy = GuardCopy(std::move(armed));
    bool moved = false;
    bool loaded = LoadRuleset(sock_.get(), copy, LoadMode::kAddNewTables, err, if_generation, &moved);
    if (loaded && if_generation != 0) proven_ = NextGeneration(if_generation);
    // Something committed since: the copy is wanted all the same.
    if (!loaded && moved) loaded = LoadRuleset(sock_.get(), copy, LoadMode::kAddNewTables, err);
    if (!loaded) {
        // LoadRuleset speaks of a restore; this is the guard's load.
        if (err->starts_with("restore: ")) err->erase(0, 9);
        *err = "guard: " + *err;
        sock_.reset();
        return false;
    }
    tables_ = copy.Count(NftKind::kTable);
    return true;
}

}  // namespace haltfw
