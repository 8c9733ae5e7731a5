#!/usr/bin/env python3
"""Symbol bytes of two builds of the edge addon, summed by crate (decision 0007).

Usage: python3 docs/decisions/0007-symbol-sizes.py BEFORE.so AFTER.so
Build each unstripped with the release profile:
  CARGO_PROFILE_RELEASE_STRIP=false cargo build --release -p pii-edge-node --lib
A symbol counts for the first path component of its demangled name (generic code counts
where it is instantiated, usually `core` or `alloc`); ring's C and assembly are `ring_core_*`.
"""
import collections
import re
import subprocess
import sys

GROUPS = {
    "regex": "regex, regex-automata, regex-syntax, aho-corasick",
    "regex_automata": "regex, regex-automata, regex-syntax, aho-corasick",
    "regex_syntax": "regex, regex-automata, regex-syntax, aho-corasick",
    "aho_corasick": "regex, regex-automata, regex-syntax, aho-corasick",
    "gimli": "std's backtrace printer (gimli, addr2line, rustc_demangle, miniz_oxide)",
    "addr2line": "std's backtrace printer (gimli, addr2line, rustc_demangle, miniz_oxide)",
    "rustc_demangle": "std's backtrace printer (gimli, addr2line, rustc_demangle, miniz_oxide)",
    "miniz_oxide": "std's backtrace printer (gimli, addr2line, rustc_demangle, miniz_oxide)",
    "std_detect": "std",
    "serde_json_path": "serde_json_path, serde_json_path_core, nom",
    "serde_json_path_core": "serde_json_path, serde_json_path_core, nom",
    "nom": "serde_json_path, serde_json_path_core, nom",
}
CRATE = re.compile(r"^(?:<)?(?:impl )?(?:<)?&?(?:mut )?(?:dyn )?([A-Za-z_][A-Za-z0-9_]*)::")


def table(path):
    out = subprocess.run(["nm", "--size-sort", "-S", "-C", path],
                         capture_output=True, text=True, check=True).stdout
    sizes = collections.Counter()
    for line in out.splitlines():
        parts = line.split(" ", 3)
        if len(parts) < 4:
            continue
        size, kind, name = int(parts[1], 16), parts[2], parts[3]
        m = CRATE.match(name)
        if m:
            crate = m.group(1)
        elif name.startswith("ring_core"):
            crate = "ring"
        else:
            crate = "other C / runtime"
        sizes[GROUPS.get(crate, crate)] += size
    return sizes


def main():
    before, after = table(sys.argv[1]), table(sys.argv[2])
    names = sorted(set(before) | set(after), key=lambda k: -max(before[k], after[k]))
    print("| crate (symbol bytes) | before | after |\n|---|---:|---:|")
    for name in names[:18]:
        print(f"| {name} | {before[name]:,} | {after[name]:,} |")
    print(f"| **all symbols** | **{sum(before.values()):,}** | **{sum(after.values()):,}** |")


if __name__ == "__main__":
    main()
