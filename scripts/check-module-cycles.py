#!/usr/bin/env python3
"""Fail on import cycles between the modules of a Rust crate.

    python3 scripts/check-module-cycles.py CRATE_DIR...   # e.g. pii-core edge-fn
    python3 scripts/check-module-cycles.py CRATE_DIR=HUB  # e.g. edge-fn/cli=shared
    python3 scripts/check-module-cycles.py --self-test    # this script's own tests

For every `.rs` file under `CRATE_DIR/src/` (binaries under `src/bin/` are crates of their own
and are skipped), the module path follows from the file's place (`src/a/b.rs` and
`src/a/b/mod.rs` are `a::b`), and inline `mod x { ... }` blocks nest inside it. The references
read are `use` declarations (`use crate::a::{b, c::D};`, `use super::x;`, `use self::y::Z;`)
and paths in code (`crate::a::f()`, `super::x::T`); items in `#[cfg(test)]` modules do not
count (test code may use whatever it tests), and neither do comments or string literals.
A name that a module re-exports (`pub use x::Y;`) is followed to the module that defines it.

Modules are compared level by level: the top-level modules of the crate with each other, and
the submodules of each module directory with each other (`a::b` with `a::c`). Module `A`
imports module `B` when any code inside `A` (its submodules included) refers to a path inside
`B`. Any cycle at any level, direct (`a -> b -> a`) or transitive (`a -> b -> c -> a`), is
printed with one place where each step happens, and the exit code is 1. No dependencies.

`CRATE_DIR=HUB` also checks that the crate's top-level modules share code only through the
module HUB: a top-level module may import HUB and nothing else of its siblings, and HUB imports
none of them (the command-line tool: one module per command, what commands share in `shared`).
Each import that breaks it is printed with its place, and the exit code is 1.
"""

import os
import re
import sys
import tempfile
import unittest

# ------------------------------------------------------------------------------------------
# Reading Rust source
# ------------------------------------------------------------------------------------------


def strip_comments_and_strings(text):
    """The text with comments and the contents of string and char literals blanked (same
    length and line breaks, so offsets and line numbers stay valid)."""
    out = []
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if text.startswith("//", i):
            j = text.find("\n", i)
            j = n if j < 0 else j
            out.append(" " * (j - i))
            i = j
        elif text.startswith("/*", i):
            depth, j = 1, i + 2
            while j < n and depth:
                if text.startswith("/*", j):
                    depth, j = depth + 1, j + 2
                elif text.startswith("*/", j):
                    depth, j = depth - 1, j + 2
                else:
                    j += 1
            out.append(re.sub(r"[^\n]", " ", text[i:j]))
            i = j
        elif c == "r" and re.match(r'r#*"', text[i:]) and not _ident_char(text, i - 1):
            hashes = re.match(r"r(#*)\"", text[i:]).group(1)
            end = text.find('"' + hashes, i + 2 + len(hashes))
            j = n if end < 0 else end + 1 + len(hashes)
            out.append(re.sub(r"[^\n]", " ", text[i:j]))
            i = j
        elif c == '"':
            j = i + 1
            while j < n and text[j] != '"':
                j += 2 if text[j] == "\\" else 1
            j = min(j + 1, n)
            out.append(re.sub(r"[^\n]", " ", text[i:j]))
            i = j
        elif c == "'" and re.match(r"'(\\.|[^\\'\n])'", text[i:]):
            # A char literal ('a', '\n', '{'); a lifetime ('a) is left alone.
            j = i + len(re.match(r"'(\\.|[^\\'\n])'", text[i:]).group(0))
            out.append(" " * (j - i))
            i = j
        elif c == "'" and re.match(r"'\\u\{[0-9a-fA-F]+\}'", text[i:]):
            j = i + len(re.match(r"'\\u\{[0-9a-fA-F]+\}'", text[i:]).group(0))
            out.append(" " * (j - i))
            i = j
        else:
            out.append(c)
            i += 1
    return "".join(out)


def _ident_char(text, i):
    return 0 <= i < len(text) and (text[i].isalnum() or text[i] == "_")


def parse_use_tree(tree):
    """`a::{b, c::{d as e, self}, f::*}` -> [['a','b'], ['a','c','d'], ['a','c'], ['a','f']]."""
    tree = re.sub(r"\s*(::|\{|\}|,)\s*", r"\1", tree.strip())
    paths = []

    def walk(s, prefix):
        parts, depth, start = [], 0, 0
        for k, ch in enumerate(s):
            if ch == "{":
                depth += 1
            elif ch == "}":
                depth -= 1
            elif ch == "," and depth == 0:
                parts.append(s[start:k])
                start = k + 1
        parts.append(s[start:])
        for part in parts:
            if not part:
                continue
            brace = part.find("{")
            if brace >= 0 and part.endswith("}"):
                segs = [x for x in part[:brace].split("::") if x]
                walk(part[brace + 1 : -1], prefix + segs)
                continue
            part = re.sub(r"\s+as\s+\w+$", "", part)
            segs = [x for x in part.split("::") if x]
            if segs and segs[-1] in ("*", "self"):
                segs = segs[:-1]
            paths.append(prefix + segs)

    walk(tree, [])
    return paths


USE_RE = re.compile(r"\b(?:pub(?:\s*\([^)]*\))?\s+)?use\s+([^;]+);")
MOD_BLOCK_RE = re.compile(r"\bmod\s+(\w+)\s*\{")
CFG_TEST_RE = re.compile(r"#\[cfg\(test\)\]\s*(?:#\[[^\]]*\]\s*)*(?:pub(?:\s*\([^)]*\))?\s+)?mod\s+\w+\s*\{")
PATH_RE = re.compile(r"(?<![\w:])((?:crate|super|self)(?:\s*::\s*\w+)+)")


class Reference:
    def __init__(self, source, path, line, is_use):
        self.source = source  # module path (list) the reference is written in
        self.path = path  # as written: ['crate','a','b'] / ['super','x'] / ['self','y']
        self.line = line
        self.is_use = is_use


def block_end(text, open_brace):
    depth = 0
    for k in range(open_brace, len(text)):
        if text[k] == "{":
            depth += 1
        elif text[k] == "}":
            depth -= 1
            if depth == 0:
                return k
    return len(text)


def read_module_file(text, module):
    """References and re-exports of one file whose module path is `module`.

    Returns (references, reexports) where reexports maps (module tuple, name) -> written path
    (with the module it is written in)."""
    clean = strip_comments_and_strings(text)
    # Blank #[cfg(test)] modules.
    for m in list(CFG_TEST_RE.finditer(clean)):
        start = m.start()
        end = block_end(clean, m.end() - 1)
        clean = clean[:start] + re.sub(r"[^\n]", " ", clean[start : end + 1]) + clean[end + 1 :]
    # Inline module blocks: (start, end, name), to find the module of an offset.
    blocks = []
    for m in MOD_BLOCK_RE.finditer(clean):
        blocks.append((m.end() - 1, block_end(clean, m.end() - 1), m.group(1)))

    def module_at(offset):
        inner = [b for b in blocks if b[0] < offset < b[1]]
        inner.sort()
        return module + [b[2] for b in inner]

    def line_at(offset):
        return clean.count("\n", 0, offset) + 1

    refs, reexports = [], []
    use_spans = []
    for m in USE_RE.finditer(clean):
        use_spans.append((m.start(), m.end()))
        where = module_at(m.start())
        public = m.group(0).lstrip().startswith("pub")
        for path in parse_use_tree(m.group(1)):
            if not path:
                continue
            if path[0] in ("crate", "super", "self"):
                refs.append(Reference(where, path, line_at(m.start()), True))
            else:
                # `use child::Item` names a child module (or an external crate, which is no
                # module of this crate and is ignored).
                refs.append(Reference(where, ["self"] + path, line_at(m.start()), True))
            if public:
                reexports.append((tuple(where), path))
    for m in PATH_RE.finditer(clean):
        if any(a <= m.start() < b for a, b in use_spans):
            continue
        path = [x for x in re.sub(r"\s+", "", m.group(1)).split("::") if x]
        # A path in code ends in an item or a function: keep what precedes the last segment.
        refs.append(Reference(module_at(m.start()), path, line_at(m.start()), False))
    return refs, reexports


def resolve(source, path):
    """Absolute module path (list) of a reference, or None."""
    if path[0] == "crate":
        return path[1:]
    base = list(source)
    rest = list(path)
    while rest and rest[0] in ("super", "self"):
        if rest[0] == "super":
            if not base:
                return None
            base = base[:-1]
        rest = rest[1:]
    return base + rest


# ------------------------------------------------------------------------------------------
# The crate
# ------------------------------------------------------------------------------------------


def module_of_file(src, path):
    rel = os.path.relpath(path, src).replace(os.sep, "/")
    if rel in ("lib.rs", "main.rs"):
        return []
    parts = rel[:-3].split("/")
    if parts[-1] == "mod":
        parts = parts[:-1]
    return parts


def crate_files(src):
    for root, dirs, files in os.walk(src):
        rel = os.path.relpath(root, src).replace(os.sep, "/")
        if rel == "bin" or rel.startswith("bin/"):
            dirs[:] = []
            continue
        dirs.sort()
        for f in sorted(files):
            if f.endswith(".rs"):
                yield os.path.join(root, f)


class Crate:
    def __init__(self, crate_dir):
        self.dir = crate_dir
        src = os.path.join(crate_dir, "src")
        if not os.path.isdir(src):
            raise SystemExit(f"{crate_dir}: no src/ directory")
        self.modules = set()  # tuples of every module (file or inline)
        self.refs = []  # (file, Reference)
        self.reexports = {}  # (module tuple, name) -> absolute path list
        pending_reexports = []
        for path in crate_files(src):
            module = module_of_file(src, path)
            with open(path, encoding="utf-8", errors="replace") as f:
                text = f.read()
            for k in range(len(module) + 1):
                self.modules.add(tuple(module[:k]))
            clean = strip_comments_and_strings(text)
            for m in MOD_BLOCK_RE.finditer(clean):
                self.modules.add(tuple(module + [m.group(1)]))
            refs, reexports = read_module_file(text, module)
            shown = os.path.relpath(path, crate_dir)
            self.refs.extend((shown, r) for r in refs)
            pending_reexports.extend(reexports)
        for where, path in pending_reexports:
            target = resolve(list(where), path if path[0] in ("crate", "super", "self") else ["self"] + path)
            if target:
                self.reexports[(where, path[-1])] = target

    def follow(self, target):
        """Follows re-exports: `crate::Edge` -> `bundle::Edge`."""
        for _ in range(8):
            for k in range(len(target) - 1, -1, -1):
                key = (tuple(target[:k]), target[k])
                if key in self.reexports and self.reexports[key] != target[: k + 1]:
                    target = self.reexports[key] + target[k + 1 :]
                    break
            else:
                return target
        return target

    def edges(self):
        """{level tuple: {(a, b): (file, line)}}: at level P, child a of P refers into child b."""
        found = {}
        for file, ref in self.refs:
            target = resolve(ref.source, ref.path)
            if target is None:
                continue
            target = self.follow(target)
            source = ref.source
            # The deepest common level at which source and target are different children.
            k = 0
            while k < len(source) and k < len(target) and source[k] == target[k]:
                k += 1
            if k >= len(source) or k >= len(target):
                continue  # a reference to an ancestor or into itself
            level = tuple(source[:k])
            a, b = source[k], target[k]
            if tuple(source[: k + 1]) not in self.modules or tuple(target[: k + 1]) not in self.modules:
                continue  # an item (function, type), not a module
            found.setdefault(level, {}).setdefault((a, b), (file, ref.line))
        return found

    def cycles(self):
        """[(level, [a, b, ..., a], [(file, line) per step])]: for each strongly connected
        component of a level's import graph, the shortest cycle through each of its modules
        (each cycle once)."""
        out = []
        for level, edges in sorted(self.edges().items()):
            graph = {}
            for (a, b) in edges:
                graph.setdefault(a, set()).add(b)
            for component in strongly_connected(graph):
                if len(component) < 2:
                    continue
                seen = set()
                members = sorted(component)
                for k in range(len(members)):
                    # The shortest cycle through each member, each cycle once.
                    cycle = a_cycle(graph, members[k:] + members[:k])
                    ring = cycle[:-1]
                    least = ring.index(min(ring))
                    key = tuple(ring[least:] + ring[:least])
                    if key in seen:
                        continue
                    seen.add(key)
                    steps = [edges[(cycle[i], cycle[i + 1])] for i in range(len(cycle) - 1)]
                    out.append((level, cycle, steps))
        return out


def strongly_connected(graph):
    """Tarjan's algorithm, iteratively."""
    index, low, on, stack, out = {}, {}, set(), [], []
    counter = [0]
    nodes = sorted(set(graph) | {b for bs in graph.values() for b in bs})
    for root in nodes:
        if root in index:
            continue
        work = [(root, iter(sorted(graph.get(root, ()))))]
        index[root] = low[root] = counter[0]
        counter[0] += 1
        stack.append(root)
        on.add(root)
        while work:
            node, children = work[-1]
            advanced = False
            for child in children:
                if child not in index:
                    index[child] = low[child] = counter[0]
                    counter[0] += 1
                    stack.append(child)
                    on.add(child)
                    work.append((child, iter(sorted(graph.get(child, ())))))
                    advanced = True
                    break
                if child in on:
                    low[node] = min(low[node], index[child])
            if advanced:
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    top = stack.pop()
                    on.discard(top)
                    component.append(top)
                    if top == node:
                        break
                out.append(component)
    return out


def a_cycle(graph, component):
    """A shortest cycle through the first node of `component` (a strongly connected
    component, in any order), as a list that starts and ends with that node."""
    start = component[0]
    members = set(component)
    previous = {start: None}
    queue = [start]
    while queue:
        node = queue.pop(0)
        for child in sorted(graph.get(node, ())):
            if child == start:
                path = [node]
                while previous[path[-1]] is not None:
                    path.append(previous[path[-1]])
                return list(reversed(path)) + [start]
            if child in members and child not in previous:
                previous[child] = node
                queue.append(child)
    return [start, start]


def hub_violations(crate, hub):
    """[(a, b, (file, line))]: top-level imports that do not go through `hub` (a module other
    than the hub importing a sibling other than the hub, or the hub importing a sibling)."""
    edges = crate.edges().get((), {})
    return [(a, b, at) for (a, b), at in sorted(edges.items()) if a == hub or b != hub]


def check(crate_dirs, out=sys.stdout):
    failed = False
    for arg in crate_dirs:
        crate_dir, _, hub = arg.partition("=")
        crate = Crate(crate_dir)
        if hub:
            if (hub,) not in crate.modules:
                print(f"{crate_dir}: no top-level module `{hub}`", file=out)
                failed = True
                continue
            wrong = hub_violations(crate, hub)
            for a, b, (file, line) in wrong:
                why = f"`{hub}` imports no command" if a == hub else f"share it through `{hub}`"
                print(f"{crate_dir}: {a} imports {b} ({file}:{line}): {why}", file=out)
            if wrong:
                failed = True
            else:
                print(f"{crate_dir}: top-level modules share code only through `{hub}`", file=out)
        cycles = crate.cycles()
        if not cycles:
            print(f"{crate_dir}: no module import cycles", file=out)
            continue
        failed = True
        for level, cycle, steps in cycles:
            where = "::".join(level) or "crate"
            print(f"{crate_dir}: import cycle among the modules of {where}: {' -> '.join(cycle)}", file=out)
            for (a, b), (file, line) in zip(zip(cycle, cycle[1:]), steps):
                print(f"  {a} -> {b}: {file}:{line}", file=out)
    return 1 if failed else 0


# ------------------------------------------------------------------------------------------
# Self test
# ------------------------------------------------------------------------------------------


class SelfTest(unittest.TestCase):
    def crate(self, files):
        root = tempfile.mkdtemp(prefix="module-cycles-")
        for name, text in files.items():
            path = os.path.join(root, "src", name)
            os.makedirs(os.path.dirname(path), exist_ok=True)
            with open(path, "w", encoding="utf-8") as f:
                f.write(text)
        return root

    def test_every_cycle_of_a_component_is_listed(self):
        root = self.crate({
            "lib.rs": "mod error;\nmod onepass;\nmod policy;\nmod select;\n",
            "error.rs": "use crate::policy::P;\n",
            "onepass.rs": "use crate::policy::P;\n",
            "select.rs": "use crate::policy::P;\n",
            "policy.rs": "use crate::{error::E, onepass::O, select::S};\n",
        })
        cycles = [c for _, c, _ in Crate(root).cycles()]
        self.assertEqual(cycles, [
            ["error", "policy", "error"],
            ["onepass", "policy", "onepass"],
            ["select", "policy", "select"],
        ])

    def test_direct_cycle_between_top_level_modules_fails(self):
        root = self.crate({
            "lib.rs": "mod a;\nmod b;\n",
            "a.rs": "use crate::b::Thing;\npub struct A;\n",
            "b.rs": "pub struct Thing;\nfn f() -> crate::a::A { crate::a::A }\n",
        })
        cycles = Crate(root).cycles()
        self.assertEqual([(l, c) for l, c, _ in cycles], [((), ["a", "b", "a"])])
        with open(os.devnull, "w") as null:
            self.assertEqual(check([root], out=null), 1)

    def test_transitive_cycle_and_grouped_use(self):
        root = self.crate({
            "lib.rs": "mod a;\nmod b;\nmod c;\n",
            "a.rs": "use crate::{b::{self, B}, x};\n",
            "b.rs": "use crate::c::C as Sea;\n",
            "c.rs": "pub(crate) use crate::a::*;\n",
        })
        cycles = Crate(root).cycles()
        self.assertEqual(len(cycles), 1)
        self.assertEqual(cycles[0][1], ["a", "b", "c", "a"])

    def test_siblings_in_a_directory_by_super(self):
        root = self.crate({
            "lib.rs": "mod cli;\n",
            "cli/mod.rs": "mod run;\nmod report;\npub struct CliError;\n",
            "cli/run.rs": "use super::report::show;\nuse super::CliError;\n",
            "cli/report.rs": "pub fn show() {}\nfn g() { super::run::go() }\n",
        })
        cycles = Crate(root).cycles()
        self.assertEqual([(l, c) for l, c, _ in cycles], [(("cli",), ["report", "run", "report"])])

    def test_no_cycle_passes_and_tests_comments_strings_do_not_count(self):
        root = self.crate({
            "lib.rs": "mod a;\nmod b;\npub use a::A;\n",
            "a.rs": "use crate::b::B;\npub struct A;\n",
            "b.rs": (
                "// use crate::a::A;\n"
                "/* crate::a::A */\n"
                "const S: &str = \"crate::a::A\";\n"
                "pub struct B;\n"
                "#[cfg(test)]\nmod tests {\n    use crate::a::A;\n    use super::*;\n}\n"
            ),
        })
        self.assertEqual(Crate(root).cycles(), [])
        with open(os.devnull, "w") as null:
            self.assertEqual(check([root], out=null), 0)

    def test_a_reexport_is_followed_to_its_module(self):
        root = self.crate({
            "lib.rs": "mod a;\nmod b;\npub use b::B;\n",
            "a.rs": "pub struct A;\nfn f(_: crate::B) {}\n",
            "b.rs": "use crate::a::A;\npub struct B;\n",
        })
        self.assertEqual([c for _, c, _ in Crate(root).cycles()], [["a", "b", "a"]])

    def test_inline_modules_nest(self):
        root = self.crate({
            "lib.rs": "mod a;\nmod b;\n",
            "a.rs": "pub mod inner {\n    pub fn f() { super::super::b::g() }\n}\n",
            "b.rs": "pub fn g() {}\n",
        })
        self.assertEqual(Crate(root).edges(), {(): {("a", "b"): ("src/a.rs", 2)}})

    def test_a_hub_is_the_only_way_between_top_level_modules(self):
        files = {
            "main.rs": "mod shared;\nmod apply;\nmod serve;\nfn main() { apply::run() }\n",
            "shared/mod.rs": "pub mod files;\n",
            "shared/files.rs": "pub fn read() {}\n",
            "apply.rs": "use crate::shared::files::read;\npub fn run() {}\n",
            "serve/mod.rs": "mod demo;\nuse crate::shared::files;\n",
            "serve/demo.rs": "use super::super::shared::files::read;\n",
        }
        with open(os.devnull, "w") as null:
            self.assertEqual(check([self.crate(files) + "=shared"], out=null), 0)
            # A command importing another command's module, and the hub importing a command.
            bad = dict(files, **{"serve/demo.rs": "use crate::apply::run;\n"})
            root = self.crate(bad)
            self.assertEqual(hub_violations(Crate(root), "shared"), [("serve", "apply", ("src/serve/demo.rs", 1))])
            self.assertEqual(check([root + "=shared"], out=null), 1)
            bad = dict(files, **{"shared/files.rs": "pub fn read() { crate::apply::run() }\n"})
            root = self.crate(bad)
            self.assertEqual(hub_violations(Crate(root), "shared"), [("shared", "apply", ("src/shared/files.rs", 1))])
            self.assertEqual(check([root + "=nothing"], out=null), 1)


def main(argv):
    if argv[1:] == ["--self-test"]:
        suite = unittest.defaultTestLoader.loadTestsFromTestCase(SelfTest)
        result = unittest.TextTestRunner(verbosity=1).run(suite)
        return 0 if result.wasSuccessful() else 1
    if len(argv) < 2 or argv[1].startswith("-"):
        print(__doc__.strip().splitlines()[0], file=sys.stderr)
        print("usage: check-module-cycles.py CRATE_DIR[=HUB]... | --self-test", file=sys.stderr)
        return 2
    return check(argv[1:])


if __name__ == "__main__":
    sys.exit(main(sys.argv))
