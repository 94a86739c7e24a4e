#!/usr/bin/env python3
"""Instructions per iteration of one criterion benchmark run under callgrind.

    valgrind --tool=callgrind --dump-instr=no --callgrind-out-file=cg.out \
        <release bench binary> --bench --profile-time 1 '^group/function$'
    scripts/callgrind-per-iter.py cg.out

Prints the inclusive cost of `Bencher::iter` (the benchmark's loop: the
routine, the loop itself and criterion's clock reads per batch) and each of its
callees with their call counts. A callee called once per iteration (the
function measured, or for an inlined floor one of its calls) gives the
iteration count; cost per iteration = inclusive cost / that count. Startup
(argument parsing, criterion's own regexes) is outside `Bencher::iter` and so
not counted.
"""

import re
import subprocess
import sys

LINE = re.compile(r"^\s*([\d,]+) \([^)]*\)\s+(\*|>)\s+(?:\?\?\?:)?(.*?)(?: \(([\d,]+)x\))? \[")


def number(text):
    return int(text.replace(",", ""))


def main(path):
    out = subprocess.run(
        ["callgrind_annotate", "--inclusive=yes", "--tree=calling", path],
        capture_output=True, text=True, check=True,
    ).stdout
    for block in out.split("\n\n"):
        rows = [LINE.match(line) for line in block.splitlines()]
        rows = [r for r in rows if r]
        if rows and rows[0].group(2) == "*" and "criterion::bencher::Bencher<M>::iter" in rows[0].group(3):
            total = number(rows[0].group(1))
            print(f"Bencher::iter inclusive: {total:,}")
            callees = [(number(r.group(1)), number(r.group(4)), r.group(3)) for r in rows[1:] if r.group(4)]
            for cost, calls, name in sorted(callees, reverse=True)[:8]:
                print(f"{calls:>10,}x {cost / calls:10.1f} per call, total/calls = {total / calls:10.1f}  {name[-100:]}")
            return
    sys.exit("no Bencher::iter in " + path)


if __name__ == "__main__":
    main(sys.argv[1])
