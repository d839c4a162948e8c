"""Side-by-side timings of emd against the references, in one process.

    python benchmarks/compare.py                 # every CPU section
    python benchmarks/compare.py one_d sliced    # chosen sections
    python benchmarks/compare.py --quick         # smaller sizes, for a smoke run

Each section lives in ``benchmarks/compare_<name>.py`` and exposes
``run(quick: bool) -> None``, printing markdown tables through
``_timing.print_table``. Copy the output into RESULTS.md with the machine line.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from _timing import machine_description  # noqa: E402

SECTIONS = ["one_d", "sliced", "network_simplex", "sinkhorn", "critic", "torch", "gpu", "pairwise"]
# Sections run only when named: they take many minutes.
LONG_SECTIONS = ["sinkhorn_large"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("sections", nargs="*", help=f"sections to run (default: all of {SECTIONS})")
    parser.add_argument("--quick", action="store_true", help="smaller problems, for a smoke run")
    args = parser.parse_args()
    unknown = [s for s in args.sections if s not in SECTIONS + LONG_SECTIONS]
    if unknown:
        parser.error(f"unknown section(s) {unknown}; choose from {SECTIONS + LONG_SECTIONS}")
    print(f"machine: {machine_description()}")
    for name in args.sections or SECTIONS:
        importlib.import_module(f"compare_{name}").run(args.quick)


if __name__ == "__main__":
    main()
