"""`alerting sample-data`: write generated GLAM rows and their truth for demos and experiments."""

from __future__ import annotations

import argparse
import datetime as dt
import json
from pathlib import Path

from alerting.cliargs import add_command, at_least, iso_date
from alerting.data.families import FAMILIES
from alerting.errors import UserError, writing_to

# More series than a demo or an experiment needs (10,000 series of 365 days take minutes).
MAX_SERIES = 10_000


def register(subparsers) -> None:
    parser = add_command(
        subparsers,
        "sample-data",
        "write realistic GLAM rows with labelled changes (DIR/rows.jsonl, DIR/truth.json)",
        sample_data,
    )
    parser.add_argument("--out", required=True, type=Path, metavar="DIR", help="output folder")
    parser.add_argument("--seed", type=at_least(0), default=0, help="random seed (default 0)")
    parser.add_argument(
        "--series",
        type=at_least(1, at_most=MAX_SERIES),
        default=20,
        help=f"number of series, at most {MAX_SERIES:,} (default 20)",
    )
    parser.add_argument("--days", type=at_least(1), default=365, help="days of data (default 365)")
    parser.add_argument(
        "--end",
        type=_rows_day,
        default=None,
        metavar="YYYY-MM-DD",
        help="last day, from 2010-01-01 to tomorrow as `detect` reads rows (default yesterday)",
    )
    parser.add_argument(
        "--family",
        choices=FAMILIES,
        default="standard",
        help="what the series do besides their changes: other bucketings, wandering levels,"
        " weekly cycles, drifts, gaps, low volume ...; `hard` mixes them (default standard)",
    )
    parser.add_argument(
        "--sampling-seed",
        type=at_least(0),
        default=None,
        help="sample the same series again with this seed (same changes, other samples)",
    )


def _rows_day(text: str) -> dt.date:
    """argparse type for --end: a day whose rows `alerting detect` reads (build ids from
    FIRST_BUILD_DAY to tomorrow), so sample data is never refused by the detector."""
    from alerting.data.buildids import FIRST_BUILD_DAY, latest_build_day

    day = iso_date(text)
    last = latest_build_day()
    if not FIRST_BUILD_DAY <= day <= last:
        raise argparse.ArgumentTypeError(
            f"{day} is not between {FIRST_BUILD_DAY} and {last} (tomorrow), the days whose "
            "rows `alerting detect` reads"
        )
    return day


def sample_data(args: argparse.Namespace) -> int:
    import orjson

    from alerting.data.buildids import FIRST_BUILD_DAY
    from alerting.data.families import min_days
    from alerting.data.generator import generate

    fewest = min_days(args.family)
    if args.days < fewest:
        raise UserError(
            f"--days {args.days} is too few for --family {args.family}, whose series need at "
            f"least {fewest} days; use --days {fewest} or more"
        )
    end = args.end or dt.date.today() - dt.timedelta(days=1)
    most = (end - FIRST_BUILD_DAY).days + 1
    if args.days > most:
        raise UserError(
            f"--days {args.days} ending {end} would start before {FIRST_BUILD_DAY}, the first "
            f"day whose rows `alerting detect` reads; use --days {most} or less, or a later --end"
        )
    data = generate(
        seed=args.seed,
        n_series=args.series,
        days=args.days,
        end=end,
        family=args.family,
        sampling_seed=args.sampling_seed,
    )
    with writing_to(args.out):
        args.out.mkdir(parents=True, exist_ok=True)
        with open(args.out / "rows.jsonl", "wb") as out:
            for row in data.rows:
                out.write(orjson.dumps(row))
                out.write(b"\n")
        (args.out / "truth.json").write_text(json.dumps(data.truth, indent=1) + "\n")
    print(f"wrote {len(data.rows)} rows of {len(data.truth)} series to {args.out}")
    return 0
