"""``python -m groupops.demo --out data/demo --seed 20261120`` (what ``make demo-data`` runs):
regenerate the demo bundle from its seed, byte for byte."""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path

from groupops.demo.generator import write_bundle
from groupops.demo.period import DEFAULT_SEED


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m groupops.demo", description="Regenerate the demo bundle from its seed."
    )
    parser.add_argument("--out", type=Path, default=Path("data/demo"))
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    args = parser.parse_args(argv)
    counts = write_bundle(args.out, args.seed)
    print(", ".join(f"{stem}: {n}" for stem, n in counts.items()), f"-> {args.out}")


if __name__ == "__main__":
    main()
