#!/usr/bin/env python3
"""Lists the `crate::` / `super::` edges between the modules of a crate's src/ and
fails when they form a cycle.

    scripts/module-cycles.py crates/otel-xray-exporter/src

A module is a file (`foo.rs` or `foo/mod.rs`); an edge A -> B means a path in
A's code (outside `#[cfg(test)]` modules and `tests.rs` files) names B or an
item of B. Edges from a module to its own submodules are parent -> child
ownership, not dependencies, and are ignored (`mod x;` / `pub use x::..`).
"""
import os
import re
import sys


def module_of(root, path):
    rel = os.path.relpath(path, root)[:-3].split(os.sep)
    if rel[-1] in ("mod", "lib", "main"):
        rel = rel[:-1]
    return tuple(rel)


def strip_tests(text):
    """Drops `#[cfg(test)] mod x { ... }` blocks and comments."""
    text = re.sub(r"//[^\n]*", "", text)
    out, i = [], 0
    for m in re.finditer(r"#\[cfg\(test\)\]\s*mod\s+\w+\s*\{", text):
        if m.start() < i:
            continue
        out.append(text[i:m.start()])
        depth, j = 1, m.end()
        while depth and j < len(text):
            depth += {"{": 1, "}": -1}.get(text[j], 0)
            j += 1
        i = j
    out.append(text[i:])
    return "".join(out)


def main():
    root = sys.argv[1] if len(sys.argv) > 1 else "src"
    files = {}
    for d, _, names in os.walk(root):
        for n in names:
            if n.endswith(".rs") and n != "tests.rs":
                p = os.path.join(d, n)
                files[module_of(root, p)] = p
    mods = set(files)

    def resolve(base, parts):
        # Longest prefix of `base + parts` that is a module.
        full = list(base) + parts
        while full and tuple(full) not in mods:
            full.pop()
        return tuple(full)

    # Items a module re-exports from elsewhere (`pub use x::{A, B}`): a path
    # through the re-export depends on where the item lives.
    reexports = {}
    for mod, path in files.items():
        text = strip_tests(open(path, encoding="utf-8").read())
        for m in re.finditer(r"pub\s+use\s+((?:\w+::)+)(?:\{([^}]*)\}|(\w+))", text):
            parts = [p for p in m.group(1).split("::") if p]
            base = mod
            if parts[0] == "crate":
                base, parts = (), parts[1:]
            elif parts[0] == "self":
                parts = parts[1:]
            items = (m.group(2) or m.group(3)).split(",")
            for it in items:
                it = it.strip().split("::")[-1].split(" as ")[0].strip()
                if re.match(r"^\w+$", it):
                    reexports[(mod, it)] = resolve(base, parts)

    edges = {}
    for mod, path in files.items():
        text = strip_tests(open(path, encoding="utf-8").read())
        targets = set()
        # Expand `use a::{b, c::d}` one level: enough for the paths we write.
        for m in re.finditer(r"\b(crate|super)((?:::\w+)+)(?:::\{([^}]*)\})?", text):
            head, tail, group = m.group(1), m.group(2), m.group(3)
            parts = [p for p in tail.split("::") if p]
            base = () if head == "crate" else mod[:-1]
            while parts and parts[0] == "super":
                base, parts = base[:-1], parts[1:]
            suffixes = [[]]
            if group:
                suffixes = [[p for p in g.strip().split("::") if p and p != "self"]
                            for g in group.split(",") if g.strip()]
            for s in suffixes:
                full = parts + [x for x in s if re.match(r"^\w+$", x)]
                t = resolve(base, full)
                rest = full[len(t) - len(base):] if t[: len(base)] == base else []
                while rest and (t, rest[0]) in reexports and reexports[(t, rest[0])] != t:
                    t = reexports[(t, rest[0])]
                    rest = []
                if t != mod and t[: len(mod)] != mod and mod[: len(t)] != t:
                    targets.add(t)
                elif t != mod and mod[: len(t)] == t and t != mod:
                    targets.add(t)  # child naming its parent's items
        edges[mod] = sorted(targets)

    name = lambda m: "::".join(m) or "crate"
    for mod in sorted(edges):
        print(f"{name(mod)} -> {', '.join(name(t) for t in edges[mod]) or '-'}")

    # Tarjan's strongly connected components.
    index, low, stack, on, sccs, n = {}, {}, [], set(), [], [0]

    def visit(v):
        index[v] = low[v] = n[0]
        n[0] += 1
        stack.append(v)
        on.add(v)
        for w in edges.get(v, []):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                sccs.append(comp)

    sys.setrecursionlimit(10000)
    for v in sorted(edges):
        if v not in index:
            visit(v)
    if sccs:
        for c in sccs:
            print("CYCLE:", " <-> ".join(sorted(name(m) for m in c)))
        sys.exit(1)
    print("no module cycles")


main()
