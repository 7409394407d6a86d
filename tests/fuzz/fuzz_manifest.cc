// The armed manifest (manifest.h), which haltfw-final reads as PID 1. Each
// input is tried twice: as it is (the checksum almost always refuses it)
// and with its 'end' line made right, so that the fuzzer reaches the
// records. A manifest that parses serialises and parses back to the same
// Manifest, byte for byte the second time.
#include <algorithm>

#include "fuzz_check.h"
#include "halt/manifest.h"
#include "nft/sha256.h"

using namespace haltfw;

namespace {

bool SameObject(const NftObject& a, const NftObject& b) {
    return a.kind == b.kind && a.family == b.family && a.table == b.table && a.name == b.name && a.payload == b.payload;
}

// The same sets with the same elements, each set's group in either's
// order (a manifest holds them in canonical order, whatever order the
// parsed text had).
bool SameElements(const std::vector<NftElements>& a, const std::vector<NftElements>& b) {
    if (a.size() != b.size()) return false;
    for (const NftElements& g : a) {
        auto same_set = [&](const NftElements& h) {
            return h.family == g.family && h.table == g.table && h.set == g.set;
        };
        auto it = std::find_if(b.begin(), b.end(), same_set);
        if (it == b.end() || it->size() != g.size()) return false;
        for (size_t i = 0; i < g.size(); ++i)
            if ((*it)[i] != g[i]) return false;
    }
    return true;
}

bool SameLink(const ManifestLink& a, const ManifestLink& b) {
    return a.role == b.role && a.name == b.name && a.addresses == b.addresses && a.routes == b.routes && a.mtu == b.mtu &&
           a.ports == b.ports && a.silent == b.silent;
}

// The same WireGuard device both ways round (WgDeviceDifferences leaves
// out what `want` does not give), and the same port.
bool SameWireguard(const WgDevice& a, const WgDevice& b) {
    return a.name == b.name && a.listen_port == b.listen_port && WgDeviceDifferences(a, b).empty() &&
           WgDeviceDifferences(b, a).empty();
}

template <typename T, typename Eq>
bool SameList(const std::vector<T>& a, const std::vector<T>& b, Eq eq) {
    if (a.size() != b.size()) return false;
    for (size_t i = 0; i < a.size(); ++i)
        if (!eq(a[i], b[i])) return false;
    return true;
}

void CheckRoundTrip(const Manifest& m) {
    FUZZ_CHECK(m.digest.size() == 64);
    std::string text = SerializeManifest(m);
    Manifest back;
    std::string err;
    FUZZ_CHECK(ParseManifest(text, &back, &err));
    FUZZ_CHECK(back.version == m.version && back.digest == m.digest && back.ctrl_alt_del == m.ctrl_alt_del &&
               back.sysrq == m.sysrq);
    FUZZ_CHECK(SameList(back.links, m.links, SameLink));
    FUZZ_CHECK(SameList(back.wireguard, m.wireguard, SameWireguard));
    FUZZ_CHECK(back.sysctls == m.sysctls);
    FUZZ_CHECK(SameList(back.ruleset.objects, m.ruleset.objects, SameObject));
    FUZZ_CHECK(SameElements(back.ruleset.elements, m.ruleset.elements));
    FUZZ_CHECK(SerializeManifest(back) == text);
}

void Try(std::string_view text) {
    Manifest m;
    std::string err;
    if (ParseManifest(text, &m, &err)) {
        CheckRoundTrip(m);
        // What the final stage sends for a device it makes again.
        for (const WgDevice& d : m.wireguard)
            for (const std::vector<char>& msg : BuildWgSetDevice(d, 0x1c, 1)) FUZZ_CHECK(msg.size() <= kWgSetMessageMax);
    }
    else FUZZ_CHECK(err.starts_with("manifest: "));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    std::string_view s = FuzzText(data, size);
    Try(s);
    // Everything before the last 'end' line (or all of it) as the body.
    std::string body(s.substr(0, s.rfind("\nend ") == std::string_view::npos ? s.size() : s.rfind("\nend ") + 1));
    if (!body.empty() && body.back() != '\n') body += '\n';
    Sha256 h;
    h.Update(body);
    Try(body + "end " + h.HexFinal() + "\n");
    return 0;
}
