# A ruleset with one large IPv4 set, for the large-set tests and benchmarks.
# Source it; it defines one function and changes no shell options.
# shellcheck shell=bash

# hfw_set_rules FILE KIND N TABLE SET : FILE holds table inet TABLE with set
# SET of N IPv4 addresses from 16.0.0.0 (KIND hash: consecutive; interval:
# an interval set of every other address, so that no two ranges touch and
# merge), a forward chain that drops them, and an input chain.
hfw_set_rules() {
    python3 - "$@" <<'PY'
import ipaddress, sys
path, kind, n, table, name = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4], sys.argv[5]
base, step = int(ipaddress.IPv4Address("16.0.0.0")), 2 if kind == "interval" else 1
with open(path, "w") as f:
    f.write("table inet %s {\n  set %s {\n    type ipv4_addr\n" % (table, name))
    if kind == "interval":
        f.write("    flags interval\n")
    f.write("    elements = {\n")
    f.writelines("      %s,\n" % ipaddress.IPv4Address(base + step * i) for i in range(n))
    f.write("    }\n  }\n  chain filter_fwd {\n    type filter hook forward priority 0; policy drop;\n")
    f.write("    ip saddr @%s drop\n  }\n  chain filter_in {\n    type filter hook input priority 0; policy accept;\n  }\n}\n" % name)
PY
}
