"""``kinetics manifests pull|import|list|show``: get the official annotation files into the cache."""

from __future__ import annotations

import argparse

from kinetics.cli.common import EXIT_OK, Examples, VERSIONS, add_json, emit_json, warn

EXAMPLES = """\
examples:
  kinetics manifests pull --version 400                 # CVDF's train/val/test CSVs, verified and cached
  kinetics manifests pull --version 700 --source deepmind
  kinetics manifests pull --version 400 --split val --base-url https://mirror.example.org/kinetics
  kinetics manifests import ~/Downloads/kinetics-400_val.csv            # recognised, cached as 400/val
  kinetics manifests import train.json --version 700-2020 --strict
  kinetics manifests import subset.csv --out subset.parquet
  kinetics manifests list                               # versions, sources and what is cached
  kinetics manifests show 400 --split val
  kinetics manifests show fingerprint.json.gz --json
"""


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "manifests", help="pull, import and inspect annotation manifests",
        description="Download the official Kinetics annotation files, or normalise ones you have, into one Parquet schema.",
        epilog=EXAMPLES, formatter_class=Examples,
    )
    verbs = parser.add_subparsers(dest="manifests_verb", metavar="ACTION", required=True)

    pull = verbs.add_parser("pull", help="download, verify and cache a version's files", epilog=EXAMPLES, formatter_class=Examples)
    pull.add_argument("--version", required=True, choices=VERSIONS)
    pull.add_argument("--source", choices=["cvdf", "deepmind"], default=None, help="publisher (default: the registry's choice for the version)")
    pull.add_argument("--base-url", default=None, help="a mirror serving the source's paths")
    pull.add_argument("--split", action="append", default=None, help="only this split (repeatable)")
    pull.add_argument("--strict", action="store_true", help="fail on any malformed row")
    add_json(pull)

    imp = verbs.add_parser("import", help="normalise a CSV/JSON/Parquet you already have", epilog=EXAMPLES, formatter_class=Examples)
    imp.add_argument("file")
    imp.add_argument("--out", default=None, help="write Parquet here instead of into the cache")
    imp.add_argument("--version", default=None, choices=VERSIONS)
    imp.add_argument("--split", default=None, help="split for rows that carry none")
    imp.add_argument("--strict", action="store_true", help="exit 1 on any malformed row instead of skipping it")
    add_json(imp)

    lst = verbs.add_parser("list", help="versions, sources and cached splits", epilog=EXAMPLES, formatter_class=Examples)
    add_json(lst)

    show = verbs.add_parser("show", help="summarise a cached version or a manifest file", epilog=EXAMPLES, formatter_class=Examples)
    show.add_argument("target", help="a version (400, 600, 700, 700-2020) or a manifest file")
    show.add_argument("--split", default=None)
    add_json(show)
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    return {"pull": _pull, "import": _import, "list": _list, "show": _show}[args.manifests_verb](args)


def _pull(args) -> int:
    from kinetics.manifests.sources import pull_manifest

    result = pull_manifest(args.version, base_url=args.base_url, source=args.source, splits=args.split, strict=args.strict)
    _warn_problems(result.manifest.report)
    for split, why in result.unavailable.items():
        warn(f"{split}: not pulled: {why}")
    if args.json:
        emit_json(result.as_dict())
    return EXIT_OK


def _import(args) -> int:
    from kinetics.manifests.sources import import_manifest

    result = import_manifest(args.file, out=args.out, version=args.version, split=args.split, strict=args.strict)
    _warn_problems(result.manifest.report)
    if args.json:
        emit_json(result.as_dict())
    return EXIT_OK


def _list(args) -> int:
    from kinetics.manifests.registry import Registry
    from kinetics.manifests.sources import cached_splits

    registry = Registry.load()
    rows = []
    for version, entry in registry.versions.items():
        cached = cached_splits(version)
        rows.append({
            "version": version, "classes": entry.classes, "default_source": entry.default_source,
            "sources": {name: sorted(src.files) for name, src in entry.sources.items()},
            "cached": {split: {k: info.get(k) for k in ("rows", "source", "url", "stored_at")} for split, info in sorted(cached.items())},
        })
    if args.json:
        emit_json(rows)
        return EXIT_OK
    print(f"{'version':<10}{'classes':>8}  {'sources (splits)':<48}cached")
    for row in rows:
        sources = "; ".join(f"{n}{'*' if n == row['default_source'] else ''}: {','.join(s) or '-'}" for n, s in row["sources"].items())
        cached = ", ".join(f"{s} {info['rows']:,} ({info['source']})" for s, info in row["cached"].items()) or "-"
        print(f"{row['version']:<10}{row['classes']:>8}  {sources:<48}{cached}")
    print("* default source")
    return EXIT_OK


def _show(args) -> int:
    from kinetics.manifests.readers import Manifest
    from kinetics.manifests.schema import VERSIONS
    from kinetics.manifests.sources import load_manifest

    if args.target in VERSIONS:
        manifest = load_manifest(args.target, args.split)
    else:
        manifest = Manifest.from_file(args.target)
        _warn_problems(manifest.report)
    summary = _summary(manifest, args.split)
    if args.json:
        emit_json(summary)
        return EXIT_OK
    print(f"{summary['source']}: {summary['rows']:,} clips, {summary['classes']} classes, versions {', '.join(summary['versions'])}")
    for split, info in summary["splits"].items():
        print(f"  {split:<14}{info['rows']:>9,} clips  {info['labelled']:>9,} labelled  {info['youtube_ids']:>9,} videos")
    return EXIT_OK


def _summary(manifest, split: str | None) -> dict:
    import pyarrow.compute as pc

    table = manifest.table
    if split:
        from kinetics.manifests.schema import normalise_split

        table = table.filter(pc.equal(table.column("split"), normalise_split(split)))
    splits = {}
    for name in sorted(set(table.column("split").to_pylist())):
        part = table.filter(pc.equal(table.column("split"), name))
        splits[name] = {
            "rows": part.num_rows,
            "labelled": part.num_rows - part.column("label").null_count,
            "youtube_ids": len(pc.unique(part.column("youtube_id"))),
        }
    return {
        "source": manifest.report.source,
        "rows": table.num_rows,
        "classes": len(manifest.classes),
        "versions": sorted(set(table.column("version").to_pylist())),
        "duplicates_dropped": manifest.report.duplicates,
        "problems": len(manifest.report.problems),
        "splits": splits,
    }


def _warn_problems(report) -> None:
    if report.duplicates:
        warn(f"{report.source}: {report.duplicates} duplicate rows dropped")
    for problem in report.problems[:10]:
        warn(f"skipped {problem}")
    if len(report.problems) > 10:
        warn(f"... and {len(report.problems) - 10} more malformed rows skipped (use --json to see all)")
