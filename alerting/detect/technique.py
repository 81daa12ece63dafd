"""What a detection technique is: a plain function `detect(series, args) -> list[Detection]`
plus a declaration of the arguments it accepts (checked by the registry and the config)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from alerting.data.model import DailySeries
from alerting.detect.model import Detection


@dataclass(frozen=True)
class ArgSpec:
    """One argument: its type (bool, int, float or str), default and a one-line meaning."""

    name: str
    type: type
    default: object
    help: str
    minimum: float | None = None
    maximum: float | None = None


@dataclass(frozen=True)
class Technique:
    name: str
    summary: str
    detect: Callable[[DailySeries, dict], list[Detection]]
    args: tuple[ArgSpec, ...] = ()
    aliases: tuple[str, ...] = ()

    def arg(self, name: str) -> ArgSpec | None:
        return next((a for a in self.args if a.name == name), None)

    def defaults(self) -> dict:
        return {a.name: a.default for a in self.args}
