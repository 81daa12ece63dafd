"""The alert pages' figures, named by a hash of what they show, so a report draws only new or
changed ones.

Drawing is most of a report's cost, and almost every alert looks the same as yesterday. A
figure's file name is a hash of the drawing code (this package's plotting and number
formatting, matplotlib's version) and of the `Drawn` record, so a figure file of an earlier
report in the output directory with the wanted name is exactly the figure that would be drawn:
it is kept. The others are drawn (in worker processes on every core when there are many), and
files no page uses any more are deleted. An unchanged state therefore rebuilds nothing and the
site stays byte-identical; the published site only needs the previous output restored before
the report (the Pages workflow restores it from its cache).
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import matplotlib
import orjson

from alerting import numbers
from alerting.alerts.store import write_text_atomic
from alerting.report import plots

FOLDER = "figures"  # under the site's root
KINDS = ("series", "cdf")  # an alert page's two figures, in `plots.page_svgs` order
PER_WORKER = 8  # pages of figures worth starting a worker process for
KEY_CHARS = 24  # hex digits of the hash kept in a file name (96 bits)


@dataclass
class Figures:
    names: list[tuple[str, str]]  # per alert given, its (series, cdf) file names under FOLDER
    drawn: int = 0  # figure files drawn by this report
    reused: int = 0  # figure files kept from the earlier report


@cache
def code_version() -> str:
    """What else decides a figure's bytes: the code that draws it and formats its numbers."""
    digest = hashlib.sha256(matplotlib.__version__.encode())
    for module in (plots, numbers):
        digest.update(Path(module.__file__).read_bytes())
    return digest.hexdigest()


def figure_key(shown: plots.Drawn) -> str:
    data = orjson.dumps(shown)
    return hashlib.sha256(code_version().encode() + data).hexdigest()[:KEY_CHARS]


def file_names(key: str) -> tuple[str, str]:
    series, cdf = (f"{key}-{kind}.svg" for kind in KINDS)
    return series, cdf


def update_figures(site: Path, shown: list[plots.Drawn]) -> Figures:
    """Make `site/FOLDER` hold exactly the figures of `shown`, drawing only the missing ones."""
    folder = site / FOLDER
    keys = [figure_key(s) for s in shown]
    wanted = dict(zip(keys, shown, strict=True))  # alerts that look alike share their files
    missing = [k for k in wanted if not all((folder / n).is_file() for n in file_names(k))]
    for key, svgs in zip(missing, _drawn([wanted[k] for k in missing]), strict=True):
        for name, svg in zip(file_names(key), svgs, strict=True):
            write_text_atomic(folder / name, svg)
    used = {name for key in wanted for name in file_names(key)}
    if folder.is_dir():
        for path in folder.iterdir():
            if path.name not in used:
                path.unlink()
    drawn = len(missing) * len(KINDS)
    return Figures([file_names(k) for k in keys], drawn=drawn, reused=len(used) - drawn)


def _drawn(shown: list[plots.Drawn]) -> Iterator[tuple[str, str]]:
    """Each record's figures, in order. Drawing needs nothing but the record, so many figures
    are drawn in worker processes on every core."""
    workers = min(os.cpu_count() or 1, len(shown) // PER_WORKER)
    if workers < 2:
        yield from map(plots.page_svgs, shown)
        return
    with ProcessPoolExecutor(max_workers=workers) as pool:
        yield from pool.map(plots.page_svgs, shown, chunksize=4)
