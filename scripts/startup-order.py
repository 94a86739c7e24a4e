#!/usr/bin/env python3
"""Lists the functions of one binary that a callgrind profile saw run, one symbol per line,
sorted: the `otel-xray` binary's startup order file (crates/otel-xray-cli/startup-order.txt).

    startup-order.py CALLGRIND_OUT BINARY_NAME

The profile must be taken with `--demangle=no`, so the names are the linker's symbols.
"""

import re
import sys

LINE = re.compile(r"^(c?)(ob|fn)=\((\d+)\)(?: (.*))?$")


def executed(profile, binary):
    # Callgrind names an object or function once, then refers to it by number; `cob`/`cfn`
    # lines (calls) can be where a name first appears.
    names = {"ob": {}, "fn": {}}
    current_object = None
    found = set()
    with open(profile, errors="replace") as lines:
        for line in lines:
            match = LINE.match(line.rstrip("\n"))
            if not match:
                continue
            called, kind, number, name = match.groups()
            if name:
                names[kind][number] = name
            if called:
                continue
            if kind == "ob":
                current_object = names["ob"].get(number)
            elif current_object and current_object.endswith("/" + binary):
                name = names["fn"].get(number, "")
                # Drop callgrind's recursion marks ('2) and what is not a symbol
                # ("(below main)", bare addresses).
                name = name.split("'")[0]
                if name and not name.startswith(("(", "0x")):
                    found.add(name)
    return sorted(found)


if __name__ == "__main__":
    print("\n".join(executed(sys.argv[1], sys.argv[2])))
