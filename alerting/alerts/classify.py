"""Regression, improvement or change, and why: the one explanation of a change that bugs,
digests, the dashboard and the terminal all print.

The verdict is read from the quantiles themselves, never from a single "direction": which of
p05, median and p95 moved, by how much, and whether each move is better or worse given the
probe's `lower_is_better`. When some moved the good way and some the bad way the picture is
mixed, and it is called a change and said to be mixed.
"""

from __future__ import annotations

from dataclasses import dataclass

from alerting.alerts.model import Values
from alerting.numbers import format_change, format_percent, relative_change

REGRESSION = "regression"
IMPROVEMENT = "improvement"
CHANGE = "change"

# A quantile moved when it shifted by at least this share of its value ...
NEGLIGIBLE = 0.01
# ... and by at least this share of the largest move (a 2 % wobble next to a 40 % jump is not
# a second story).
MINOR_SHARE = 0.25
VOLUME_WARNING = 0.20  # warn when samples per day changed by this share or more

QUANTILES = ("p05", "median", "p95")
WHERE = {"p05": "at the low end", "median": "in the middle", "p95": "at the top"}


@dataclass(frozen=True)
class Move:
    """One quantile that moved: by how much and whether that is good for the probe."""

    name: str  # p05 | median | p95
    before: float
    after: float
    shift: float  # signed, relative to the larger of the two values (robust near zero)
    better: bool | None  # None when the probe does not say which side is better

    def text(self, unit: str = "") -> str:
        """`p95 fell 18.6% (1,627 → 1,324 mbps)`."""
        verb = "rose" if self.after > self.before else "fell"
        change = relative_change(self.before, self.after)
        size = f" {format_percent(abs(change), signed=False)}" if change is not None else ""
        return f"{self.name} {verb}{size} ({format_change(self.before, self.after, unit, False)})"


@dataclass(frozen=True)
class Explanation:
    kind: str  # regression | improvement | change
    moves: tuple[Move, ...]
    mixed: bool
    what: str  # which quantiles moved and by how much
    why: str  # which side is better, hence the kind
    volume: str  # a warning when the number of samples changed a lot, else ""

    @property
    def sentence(self) -> str:
        """`p95 fell 18.6% (1,627 → 1,324 mbps); higher is better, so a regression.`"""
        return f"{self.what}; {self.why}."


def _shift(before: float | None, after: float | None) -> float:
    if before is None or after is None:
        return 0.0
    scale = max(abs(before), abs(after))
    return (after - before) / scale if scale > 0 else 0.0


def moves(before: Values, after: Values, lower_is_better: bool | None) -> tuple[Move, ...]:
    """The quantiles that moved noticeably, low to high."""
    shifts = {q: _shift(getattr(before, q), getattr(after, q)) for q in QUANTILES}
    largest = max(abs(s) for s in shifts.values())
    floor = max(NEGLIGIBLE, MINOR_SHARE * largest)
    found = []
    for name, shift in shifts.items():
        if abs(shift) < floor:
            continue
        better = None if lower_is_better is None else (shift < 0) == lower_is_better
        found.append(Move(name, getattr(before, name), getattr(after, name), shift, better))
    return tuple(found)


def _places(items: list[Move]) -> str:
    places = [WHERE[m.name] for m in items]
    return places[0] if len(places) == 1 else ", ".join(places[:-1]) + " and " + places[-1]


def volume_warning(before: Values, after: Values) -> str:
    """A sentence when the number of samples per day moved by VOLUME_WARNING or more."""
    change = relative_change(before.samples, after.samples)
    if change is None or abs(change) < VOLUME_WARNING:
        return ""
    verb = "rose" if change > 0 else "fell"
    return (
        f"samples per day {verb} {format_percent(abs(change), signed=False)}: part of this "
        "change may come from a change in who reports the probe, not in its values."
    )


def explain(
    before: Values, after: Values, lower_is_better: bool | None, unit: str = ""
) -> Explanation:
    """The verdict and the words for it; pure, so every surface says the same."""
    moved = moves(before, after, lower_is_better)
    volume = volume_warning(before, after)
    if not moved:
        what = "p05, median and p95 each moved by 1% or less"
        why = "the change is in the shape of the distribution, so neither better nor worse"
        return Explanation(CHANGE, moved, False, what, why, volume)
    what = ", ".join(m.text(unit) for m in moved)
    if lower_is_better is None:
        why = "its monitor block does not say which side is better (lower_is_better), so a change"
        return Explanation(CHANGE, moved, False, what, why, volume)
    goal = "lower is better" if lower_is_better else "higher is better"
    better = [m for m in moved if m.better]
    worse = [m for m in moved if not m.better]
    if better and worse:
        why = f"{goal}, so a mixed picture: better {_places(better)}, worse {_places(worse)}"
        return Explanation(CHANGE, moved, True, what, why, volume)
    if worse:
        return Explanation(REGRESSION, moved, False, what, f"{goal}, so a regression", volume)
    return Explanation(IMPROVEMENT, moved, False, what, f"{goal}, so an improvement", volume)


def classify(lower_is_better: bool | None, before: Values, after: Values) -> str:
    return explain(before, after, lower_is_better).kind
