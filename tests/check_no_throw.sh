#!/bin/bash
# haltfw-final throws nothing of its own, and whatever libstdc++ throws or
# fails to allocate ends in its fail-closed handlers (final/fail_closed.h).
# Usage: check_no_throw.sh SOURCE_DIR HALTFW_FINAL OTHER_BINARY
# Fails if:
#  1. the code haltfw-final is built from (haltfw/ base, net, nft, halt,
#     final; tests aside) holds a throw, try or catch outside comments and
#     literals;
#  2. one of that code's compile units in the binary was built without
#     -fno-exceptions (DW_AT_producer, where GCC records the options), or
#     one of final/*.cc is not in it;
#  3. main calls anything but getpid, strcmp and strtol (deciding the
#     mode) before haltfw::InstallFailClosed, or that does not call both
#     std::set_new_handler and std::set_terminate;
#  4. a function of the binary catches (calls __cxa_begin_catch) and is not
#     one of libstdc++'s own reviewed below.
# It also lists the throwing functions of libstdc++ the binary calls, and
# how many of the callers are haltfw's (inlined library code: a vector's
# growth calls std::__throw_length_error). Each ends in std::terminate.
# Then it proves it can fail: 1 on a copy of the tree with a throw, a try
# and a catch added (and "throw" in a comment and "try" in a string, which
# must pass), 2 and 3 on OTHER_BINARY (the CLI, built with exceptions).
# Exits 77 (skipped) if the binary has no debug information.
set -euo pipefail
root=${1:?usage: $0 SOURCE_DIR HALTFW_FINAL OTHER_BINARY}
final=${2:?usage: $0 SOURCE_DIR HALTFW_FINAL OTHER_BINARY}
other=${3:?usage: $0 SOURCE_DIR HALTFW_FINAL OTHER_BINARY}

# check_sources DIR: "haltfw/LAYER/FILE:LINE: WORD" for each throw, try or
# catch in DIR/haltfw's PID 1 layers; exits 1 if any.
check_sources() {
    python3 - "$1" <<'PY'
import pathlib, re, sys
root = pathlib.Path(sys.argv[1]) / "haltfw"
# Comments and string or character literals, blanked out keeping the line
# numbers (no raw strings in this code).
hide = re.compile(r'//[^\n]*|/\*.*?\*/|"(?:\\.|[^"\\\n])*"|\'(?:\\.|[^\'\\\n])*\'', re.S)
bad = 0
for layer in ["base", "net", "nft", "halt", "final"]:
    for f in sorted((root / layer).glob("*")):
        if f.suffix not in (".cc", ".h") or f.name.endswith(("_test.cc", "_test_support.h")):
            continue
        code = hide.sub(lambda m: "\n" * m.group(0).count("\n"), f.read_text())
        for n, line in enumerate(code.split("\n"), 1):
            for m in re.finditer(r"\b(throw|try|catch)\b", line):
                print(f"haltfw/{layer}/{f.name}:{n}: {m.group(1)}")
                bad = 1
sys.exit(bad)
PY
}

# check_binary SOURCE_DIR BINARY [list]: checks 2 to 4, one line a
# problem; with "list", the audit's listing too. Exits 1 on a problem, 77
# without debug information.
check_binary() {
    python3 - "$@" <<'PY'
import collections, pathlib, re, subprocess, sys
src, binary = pathlib.Path(sys.argv[1]), sys.argv[2]
listing = len(sys.argv) > 3
problems = []

# 2. The compile units of haltfw's PID 1 layers, and their options.
info = subprocess.run(["readelf", "--debug-dump=info", "--dwarf-depth=1", binary],
                      capture_output=True, text=True, check=True).stdout
units, producer = [], ""
for line in info.splitlines():
    m = re.search(r"DW_AT_(producer|name)\s*:\s*(?:\([^)]*\):\s*)?(.*)$", line)
    if not m:
        continue
    if m.group(1) == "producer":
        producer = m.group(2)
    elif re.search(r"/haltfw/(base|net|nft|halt|final)/[^/]+\.cc$", m.group(2)):
        units.append(("haltfw/" + m.group(2).rsplit("/haltfw/", 1)[1], producer))
if not units:
    print(f"skipped: {binary} has no debug information for haltfw's sources (build with -g: RelWithDebInfo)")
    sys.exit(77)
for name, p in units:
    if "-fno-exceptions" not in p.split():
        problems.append(f"{name}: built with exceptions ({p})")
have = {name for name, _ in units}
for f in sorted((src / "haltfw" / "final").glob("*.cc")):
    if not f.name.endswith("_test.cc") and f"haltfw/final/{f.name}" not in have:
        problems.append(f"haltfw/final/{f.name}: not among the binary's compile units")

# The disassembly: each function's calls and jumps to named functions.
dis = subprocess.run(["objdump", "-d", "--no-show-raw-insn", "-C", binary],
                     capture_output=True, text=True, check=True).stdout
calls = collections.defaultdict(list)
fn = None
for line in dis.splitlines():
    m = re.match(r"^[0-9a-f]+ <(.*)>:$", line)
    if m:
        fn = m.group(1)
        continue
    m = re.search(r"\t(call|jmp)\s+[0-9a-f]+ <([^>+]*)(?:\+0x[0-9a-f]+)?>", line)
    if m and fn:
        calls[fn].append(re.sub(r"@plt$", "", m.group(2)))

# 3. The handlers first.
install = "haltfw::InstallFailClosed(haltfw::FailClosedMode, int, int)"
before = []
for c in calls.get("main", []):
    if c == install:
        break
    before.append(c)
else:
    problems.append("main does not call haltfw::InstallFailClosed")
    before = []
for c in before:
    if re.sub(r"\(.*", "", c) not in ("getpid", "strcmp", "strtol", "__isoc23_strtol", "atoi"):
        problems.append(f"main calls {c} before haltfw::InstallFailClosed")
if install in calls:
    for h in ("std::set_new_handler(void (*)())", "std::set_terminate(void (*)())"):
        if h not in calls[install]:
            problems.append(f"haltfw::InstallFailClosed does not call {h}")

# 4. Who catches. libstdc++'s own, reviewed: the runtime's terminate and
# throw machinery; nothrow new, which catches the bad_alloc that the
# throwing new never throws once a new handler that does not return is
# set; string::reserve() (shrink_to_fit), which ignores a failed
# reallocation (which fails closed first, for the same reason).
reviewed = [r"__cxa_\w+", r"__cxxabiv1::__terminate\(", r"__gnu_cxx::__verbose_terminate_handler\(",
            r"__gxx_personality_v0", r"_txnal_cow_string_\w+\(",
            r"operator new\(unsigned long, std::nothrow_t const&\)",
            r"std::(__cxx11::basic_string<char, std::char_traits<char>, std::allocator<char> >|string)::reserve\(\)"]
catchers = sorted(f for f, cs in calls.items() if "__cxa_begin_catch" in cs)
for f in catchers:
    if not any(re.match(r, f) for r in reviewed):
        problems.append(f"{f} catches exceptions (__cxa_begin_catch): not one of the libstdc++ functions"
                        " reviewed in tests/check_no_throw.sh")

for p in problems:
    print(p)
if listing and not problems:
    print(f"{len(units)} compile units of haltfw's code, all built with -fno-exceptions")
    print("main calls " + ", ".join(before + ["haltfw::InstallFailClosed"]) + " first")
    throwers = collections.defaultdict(set)
    for f, cs in calls.items():
        for c in cs:
            if re.match(r"(std::|__gnu_cxx::)__throw_|__cxa_throw$|__cxa_rethrow$", c):
                throwers[re.sub(r"\(.*", "", c)].add(f)
    print("libstdc++'s throwing functions the binary calls, and from how many functions (haltfw's among them):")
    for t in sorted(throwers):
        ours = sum("haltfw::" in f for f in throwers[t])
        print(f"  {t}: {len(throwers[t])} ({ours})")
    print(f"functions that catch ({len(catchers)}), all libstdc++'s: " + "; ".join(catchers))
sys.exit(1 if problems else 0)
PY
}

# The tree and the binary as they are.
if ! out=$(check_sources "$root"); then
    printf 'FAIL: throw, try or catch in the code haltfw-final is built from:\n%s\n' "$out"
    exit 1
fi
rc=0
out=$(check_binary "$root" "$final" list) || rc=$?
if [[ $rc == 77 ]]; then
    echo "$out"
    exit 77
elif [[ $rc != 0 ]]; then
    printf 'FAIL: %s:\n%s\n' "$final" "$out"
    exit 1
fi
echo "$out"

# It can fail.
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir "$tmp/haltfw"
for layer in base net nft halt final; do cp -r "$root/haltfw/$layer" "$tmp/haltfw/"; done
final_lines=$(wc -l <"$tmp/haltfw/final/haltfw_final.cc")
digest_lines=$(wc -l <"$tmp/haltfw/nft/nft_digest.cc")
printf 'void Thrower() { throw 1; }  // throw in a comment\n' >>"$tmp/haltfw/final/haltfw_final.cc"
printf 'int Catcher() {\n    try {\n        return 1;\n    } catch (...) {\n        return 0;\n    }\n}\n' \
    >>"$tmp/haltfw/nft/nft_digest.cc"
printf 'const char* kTry = "try";\n/* catch\n   throw */\n' >>"$tmp/haltfw/halt/report.cc"
expect="haltfw/nft/nft_digest.cc:$((digest_lines + 2)): try
haltfw/nft/nft_digest.cc:$((digest_lines + 4)): catch
haltfw/final/haltfw_final.cc:$((final_lines + 1)): throw"
if out=$(check_sources "$tmp"); then
    echo "FAIL: a tree with a throw, a try and a catch passed"
    exit 1
fi
if [[ $out != "$expect" ]]; then
    printf 'FAIL: on a tree with a throw, a try and a catch it said:\n%s\nexpected:\n%s\n' "$out" "$expect"
    exit 1
fi
if out=$(check_binary "$root" "$other"); then
    echo "FAIL: $other (built with exceptions, no handlers) passed"
    exit 1
fi
for want in ": built with exceptions (" "main does not call haltfw::InstallFailClosed" \
            "haltfw/final/fail_closed.cc: not among the binary's compile units"; do
    if [[ $out != *"$want"* ]]; then
        printf 'FAIL: on %s it did not say %s; it said:\n%s\n' "$other" "'$want'" "$out"
        exit 1
    fi
done
echo "PASS: no throw, try or catch in haltfw-final's code, all of it built with -fno-exceptions, the fail-closed" \
     "handlers installed first; refused: a tree with a throw, a try and a catch, and $(basename "$other")"
