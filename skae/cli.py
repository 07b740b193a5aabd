"""Command line: ``python -m skae`` / ``skae``."""

from __future__ import annotations

import argparse
import json
import sys

__all__ = ["main"]


def _plugins(args) -> int:
    from . import plugins

    rows = plugins.describe()
    if args.json:
        print(json.dumps(rows, indent=2))
        return 0
    kinds = list(plugins.KINDS)
    for row in rows:
        print(f"{row['plugin']}  (distribution: {row['distribution']})")
        for kind in kinds:
            if row[kind]:
                print(f"    {kind + 's':<14} {', '.join(row[kind])}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="skae", description="scikit-learn compatible autoencoders.")
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("plugins", help="list installed plugins and what each registers")
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")
    p.set_defaults(func=_plugins)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
