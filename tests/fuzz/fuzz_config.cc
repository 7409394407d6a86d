// haltfw.conf (config.h, ini.h), which the CLI reads as root: any text
// gives a Config and diagnostics, each error naming a line of the text; a
// config without errors turns into its gateway profile (gateway.h).
#include <algorithm>

#include "core/config.h"
#include "fuzz_check.h"
#include "core/bridge_filter.h"
#include "core/gateway.h"
#include "core/ini.h"

using namespace haltfw;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    std::string_view s = FuzzText(data, size);
    const std::string path = "/etc/haltfw/haltfw.conf";
    int lines = static_cast<int>(std::count(s.begin(), s.end(), '\n')) + 1;

    Diagnostics ini_diags;
    IniFile ini = ParseIni(s, path, &ini_diags);
    for (const IniEntry& e : ini.entries) FUZZ_CHECK(e.line >= 1 && e.line <= lines && !e.key.empty());

    Diagnostics diags;
    Config cfg = ParseConfig(s, path, &diags);
    for (const Diagnostic& d : diags.errors()) FUZZ_CHECK(d.line >= 0 && d.line <= lines && !d.message.empty());
    for (const Diagnostic& d : diags.warnings()) FUZZ_CHECK(d.line >= 0 && d.line <= lines);
    (void)diags.FormatErrors();
    (void)diags.FormatWarnings();
    for (const InterfaceConfig& ifc : cfg.interfaces) (void)ifc.Describe();
    (void)DescribeRulesetSources(cfg);
    if (diags.ok() && cfg.gateway) FUZZ_CHECK(!GatewayRuleset(cfg).empty());
    if (diags.ok() && cfg.bridge_filter) FUZZ_CHECK(!BridgeFilterRuleset(cfg).empty());
    return 0;
}
