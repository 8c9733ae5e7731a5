#!/usr/bin/env python3
"""Fail when a Rust source file outgrows the line budget (issue 26: rooms one can hold in one's
head).

The budget counts a file's lines outside its unit-test module (`#[cfg(test)] mod tests { ... }`
at the end of the file) and outside files that are test modules themselves (`tests.rs`,
`proptests.rs`): tests beside the code are welcome and do not make a room harder to change.

    python3 scripts/check-file-sizes.py              # check the tree, print the largest files
    python3 scripts/check-file-sizes.py --self-test  # the counting rules on small examples

A file that must stay whole goes on ALLOWED with its reason; keep that list short.
"""

import os
import re
import sys

BUDGET = 800

# path -> why it may be longer. Empty: every file fits (the JSON lexer, one byte-level state
# machine, is the closest at about 700 lines).
ALLOWED: dict = {}

ROOTS = [
    "pii-core/src",
    "edge-fn/src",
    "edge-fn/node/src",
    "edge-fn/cli/src",
    "bindings/python/src",
    "bindings/node/src",
    "benches/src",
    "examples/origin/src",
]

TEST_FILES = {"tests.rs", "proptests.rs"}


def code_lines(text: str) -> int:
    """Lines before a trailing `#[cfg(...test...)]` + `mod tests` block (the unit tests)."""
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    for i, line in enumerate(lines):
        if re.match(r"^mod (tests|proptests) \{", line):
            start = i - 1 if i > 0 and lines[i - 1].startswith("#[cfg(") else i
            return start
    return len(lines)


def measure(root_dir: str):
    rows = []
    for top in ROOTS:
        base = os.path.join(root_dir, top)
        for dirpath, _, files in os.walk(base):
            for name in files:
                if not name.endswith(".rs") or name in TEST_FILES:
                    continue
                path = os.path.join(dirpath, name)
                rel = os.path.relpath(path, root_dir)
                with open(path, encoding="utf-8") as f:
                    rows.append((code_lines(f.read()), rel))
    rows.sort(reverse=True)
    return rows


def self_test() -> None:
    assert code_lines("a\nb\n") == 2
    assert code_lines("a\n#[cfg(test)]\nmod tests {\n    x\n}\n") == 1
    assert code_lines("a\nb\n#[cfg(all(test, feature = \"open\"))]\nmod tests {\n}\n") == 2
    assert code_lines("mod tests;\n") == 1  # a declaration, not the block
    print("check-file-sizes self-test: ok")


def main() -> int:
    if "--self-test" in sys.argv:
        self_test()
        return 0
    root_dir = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
    rows = measure(root_dir)
    over = [(n, p) for n, p in rows if n > BUDGET and p not in ALLOWED]
    stale = [p for p in ALLOWED if not os.path.exists(os.path.join(root_dir, p))]
    print(f"largest Rust files (lines outside unit tests; budget {BUDGET}):")
    for n, p in rows[:8]:
        note = f"  (allowed: {ALLOWED[p]})" if p in ALLOWED else ""
        print(f"  {n:5} {p}{note}")
    for n, p in over:
        print(
            f"error: {p} has {n} lines outside its unit tests, over the budget of {BUDGET}: "
            "split it by responsibility (or, if it must stay whole, add it to ALLOWED in "
            "scripts/check-file-sizes.py with the reason)",
            file=sys.stderr,
        )
    for p in stale:
        print(f"error: ALLOWED names {p}, which does not exist: remove it", file=sys.stderr)
    return 1 if over or stale else 0


if __name__ == "__main__":
    sys.exit(main())
