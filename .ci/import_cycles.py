#!/usr/bin/env python3
"""Fails when a crate's modules import each other in a circle.

Two levels are checked, in every crate under the workspace:
  1. the crate's top-level modules (`report`, `checks`, `live`, ...): a directory module counts as
     one node, whatever file inside it makes the reference;
  2. inside each directory module, its sibling files (a parent `mod.rs` that declares and lists its
     children is their parent, not their peer, so edges to and from it are not counted here).
What counts as an import: `use crate::a::...`, `crate::a::...` in code, and `super::x` resolved to
its module. Not counted: `#[cfg(test)]` modules (tests may reach anything), comments, and `pub use`
re-exports in `lib.rs` (a module that only re-exports depends on nothing).

Usage: import_cycles.py CRATE_SRC_DIR...   (prints each circle found; exit 1 if any)
"""

import os
import re
import sys

USE_CRATE = re.compile(r"\bcrate::([a-z_][a-z0-9_]*)(?:::([a-z_][a-z0-9_]*))?")
USE_SUPER = re.compile(r"\bsuper::([a-z_][a-z0-9_]*)")
GROUPED = re.compile(r"\buse\s+crate::\{([^;]*)\};", re.S)


def strip_tests_and_comments(text):
    # Drop `#[cfg(test)] mod x { ... }` blocks by brace matching, then line comments.
    out = []
    i = 0
    while True:
        m = re.search(r"#\[cfg\(test\)\]\s*(pub(\([a-z]+\))?\s+)?mod\s+\w+\s*\{", text[i:])
        if not m:
            out.append(text[i:])
            break
        start = i + m.start()
        out.append(text[i:start])
        depth = 0
        j = i + m.end() - 1
        while j < len(text):
            if text[j] == "{":
                depth += 1
            elif text[j] == "}":
                depth -= 1
                if depth == 0:
                    break
            j += 1
        i = j + 1
    lines = []
    for line in "".join(out).splitlines():
        s = line.strip()
        if s.startswith("//"):
            continue
        lines.append(line.split("//")[0] if '"' not in line else line)
    return "\n".join(lines)


def modules(src):
    """Maps a module path (tuple) to its file, for every .rs file under src."""
    mods = {}
    for root, _, files in os.walk(src):
        for f in files:
            if not f.endswith(".rs"):
                continue
            rel = os.path.relpath(os.path.join(root, f), src)
            parts = rel[:-3].split(os.sep)
            if parts[-1] == "mod":
                parts = parts[:-1]
            if parts == ["lib"] or parts == ["main"]:
                parts = []
            mods[tuple(parts)] = os.path.join(src, rel)
    return mods


def references(path, mod, text):
    refs = set()
    for m in GROUPED.finditer(text):
        for item in re.split(r",\s*", m.group(1)):
            head = item.strip().split("::")
            if head and head[0] and head[0] != "self":
                refs.add(tuple(x for x in head[:2] if re.fullmatch(r"[a-z_][a-z0-9_]*", x)))
    for m in USE_CRATE.finditer(text):
        refs.add(tuple(x for x in m.groups() if x))
    parent = mod[:-1] if not path.endswith("mod.rs") else mod[:-1]
    if path.endswith("mod.rs"):
        parent = mod[:-1]
    for m in USE_SUPER.finditer(text):
        base = mod[:-1]
        refs.add(base + (m.group(1),))
    return refs


def cycles(graph):
    found = []
    state = {}
    stack = []

    def visit(n):
        state[n] = 1
        stack.append(n)
        for m in sorted(graph.get(n, ())):
            if state.get(m) == 1:
                found.append(stack[stack.index(m):] + [m])
            elif m not in state:
                visit(m)
        stack.pop()
        state[n] = 2

    for n in sorted(graph):
        if n not in state:
            visit(n)
    return found


def check(src):
    mods = modules(src)
    top = {}
    inner = {}
    for mod, path in mods.items():
        with open(path, encoding="utf-8") as f:
            text = strip_tests_and_comments(f.read())
        if not mod:
            # lib.rs: its `pub use` lines re-export; anything else would be code.
            text = "\n".join(l for l in text.splitlines() if not l.strip().startswith("pub use"))
        for ref in references(path, mod, text):
            if not ref:
                continue
            # Resolve to the longest module path that exists.
            target = None
            for k in range(len(ref), 0, -1):
                if ref[:k] in mods:
                    target = ref[:k]
                    break
            if target is None or not mod:
                continue
            if target[0] != mod[0]:
                top.setdefault(mod[0], set()).add(target[0])
            elif len(mod) >= 2 and len(target) >= 2 and mod[:-1] == target[:-1] and mod != target:
                inner.setdefault(mod, set()).add(target)
    bad = cycles(top) + cycles(inner)
    for c in bad:
        print(f"{src}: import circle: " + " -> ".join("::".join(x) if isinstance(x, tuple) else x for x in c))
    return not bad


def main():
    ok = True
    for src in sys.argv[1:]:
        ok &= check(src)
    if ok:
        print("no import circle in " + ", ".join(sys.argv[1:]))
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
