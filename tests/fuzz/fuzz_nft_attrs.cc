// Runs of netlink attributes as raw bytes (nft_attrs.h): what the restore
// does to the payloads of the manifest's objects. Any bytes: no read past
// the run, and the rebuilt runs are stable (a second rebuild changes
// nothing).
#include <linux/netfilter/nf_tables.h>
#include <linux/netlink.h>

#include "fuzz_check.h"
#include "nft/nft_attrs.h"

using namespace haltfw;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    std::string_view s = FuzzText(data, size);
    size_t seen = 0;
    ForEachAttr(s, [&](uint16_t type, std::string_view value) {
        FUZZ_CHECK((type & (NLA_F_NESTED | NLA_F_NET_BYTEORDER)) == 0);
        FUZZ_CHECK(value.data() >= s.data() && value.data() + value.size() <= s.data() + s.size());
        seen += value.size() + NLA_HDRLEN;
        (void)AttrString(value);
        (void)AttrBe32(value);
    });
    FUZZ_CHECK(seen <= s.size());
    std::string_view v;
    for (uint16_t type : {0, 1, 2, 4}) (void)FindAttr(s, type, &v);

    std::string kept = EditAttrs(s, [](uint16_t, std::string*) { return true; });
    FUZZ_CHECK(kept.size() % NLA_ALIGNTO == 0);
    FUZZ_CHECK(EditAttrs(kept, [](uint16_t, std::string*) { return true; }) == kept);
    (void)EditAttrs(s, [](uint16_t type, std::string* value) {
        if (type % 3 == 0) return false;
        if (type % 3 == 1) value->append(type % 2 ? 0x10000 : 5, 'x');  // past the 16-bit length, or a little
        else value->clear();
        return true;
    });

    (void)RuleJumpTargets(s);
    std::string restore = RuleForRestore(s);
    FUZZ_CHECK(RuleForRestore(restore) == restore);
    (void)RuleHasExpression(s, "quota");
    (void)SetHasExpression(s, "counter");
    (void)ObjectType(s);
    return 0;
}
