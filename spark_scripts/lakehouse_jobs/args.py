"""Command-line arguments of the Spark scripts: dates, catalog, the gold tables to build.

    <gold script> (--date YYYY-MM-DD | --start YYYY-MM-DD --end YYYY-MM-DD) [--catalog NAME]
    batch_gold.py ... [--tables gold.a,gold.b]

Without dates, a Dagster Pipes partition key (range) is used. dagster_pipes is imported lazily.
"""

import argparse
import datetime as dt
import sys

from . import tables as c

PIPES_ARGS = ("--dagster-pipes-context", "--dagster-pipes-messages")


def parse_date(value: str, what: str) -> dt.date:
    """Strict YYYY-MM-DD; the ValueError names `what` and the value."""
    try:
        if len(value) != 10 or value[4] != "-" or value[7] != "-":
            raise ValueError(value)
        return dt.date.fromisoformat(value)
    except (ValueError, TypeError):
        raise ValueError(f"invalid date {value!r} for {what} (expected YYYY-MM-DD)") from None


def _date_type(flag: str):
    def parse(value: str) -> dt.date:
        try:
            return parse_date(value, flag)
        except ValueError as exc:
            raise argparse.ArgumentTypeError(str(exc)) from None
    return parse


def parse_tables(value: str) -> list[str]:
    """`gold.a,gold.b` (short names `a` accepted) -> gold tables in the contract's order."""
    names = [v.strip() for v in value.split(",") if v.strip()]
    by_short = {c.short_name(t): t for t in c.GOLD_TABLES}
    unknown = [n for n in names if n not in c.GOLD_TABLES and n not in by_short]
    if unknown or not names:
        raise argparse.ArgumentTypeError(
            f"unknown gold table(s) {', '.join(map(repr, unknown)) or repr(value)} for --tables; "
            f"expected a comma-separated subset of {', '.join(c.GOLD_TABLES)}")
    chosen = {by_short.get(n, n) for n in names}
    return [t for t in c.GOLD_TABLES if t in chosen]


def build_parser(description: str) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--date", type=_date_type("--date"), help="one UTC date, YYYY-MM-DD")
    parser.add_argument("--start", type=_date_type("--start"), help="first date (inclusive)")
    parser.add_argument("--end", type=_date_type("--end"), help="last date (inclusive)")
    parser.add_argument("--catalog", default=c.CATALOG, help="Spark catalog name (default: %(default)s)")
    return parser


def add_tables_argument(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    parser.add_argument("--tables", type=parse_tables, default=list(c.GOLD_TABLES),
                        help="comma-separated gold tables to build in this run (default: all three)")
    return parser


def parse_args(parser: argparse.ArgumentParser, argv: list[str] | None = None) -> argparse.Namespace:
    """parse_known_args (Pipes adds its own arguments) plus date-combination checks."""
    args, unknown = parser.parse_known_args(argv)
    stray = [a for a in unknown if not a.startswith(PIPES_ARGS) and not _is_pipes_value(a, unknown)]
    if stray:
        print(f"warning: ignoring unknown arguments {stray}", file=sys.stderr)
    if args.date and (args.start or args.end):
        parser.error("use either --date or --start/--end, not both")
    if bool(args.start) != bool(args.end):
        parser.error("--start and --end must be given together")
    if args.date:
        args.start = args.end = args.date
    if args.start and args.start > args.end:
        parser.error(f"--start {args.start} is after --end {args.end}")
    return args


def _is_pipes_value(arg: str, unknown: list[str]) -> bool:
    i = unknown.index(arg)
    return i > 0 and unknown[i - 1] in PIPES_ARGS


def resolve_dates(args: argparse.Namespace, pipes) -> tuple[dt.date, dt.date]:
    """Dates from the command line, else from the Pipes partition key (range)."""
    if args.start:
        return args.start, args.end
    key_range = _pipes_partition_range(pipes)
    if key_range is None:
        raise SystemExit(
            "error: no date given: pass --date YYYY-MM-DD or --start/--end, "
            "or run as a partitioned Dagster asset"
        )
    try:
        start, end = (parse_date(key, "the Dagster partition key") for key in key_range)
    except ValueError as exc:
        raise SystemExit(f"error: {exc}") from None
    if start > end:
        raise SystemExit(f"error: partition key range start {start} is after end {end}")
    return start, end


def _pipes_partition_range(pipes) -> tuple[str, str] | None:
    """(start, end) partition keys of a real Pipes context, else None."""
    from dagster_pipes import DagsterPipesError, PipesContext

    if not isinstance(pipes, PipesContext):  # standalone: cli.NoPipes
        return None
    try:
        if pipes.is_partition_step:
            key_range = pipes.partition_key_range
            return key_range["start"], key_range["end"]
    except DagsterPipesError:
        pass
    try:
        return pipes.partition_key, pipes.partition_key
    except DagsterPipesError:
        return None
