"""Each probe's `threshold`, for the texts that say how sure a change is: the run gives the bug
and the digest its configs' thresholds, and `alerts show` and `report` read the same configs
the same way, so every surface quotes the same threshold."""

from __future__ import annotations

import argparse
from collections.abc import Iterable
from pathlib import Path

from alerting.errors import UserError
from alerting.probes.model import MonitorConfig
from alerting.settings import Settings


def thresholds_of(configs: Iterable[MonitorConfig]) -> dict[str, float]:
    """Each monitored probe's `threshold` (its technique's default filled in)."""
    return {
        c.probe: float(c.args["threshold"])
        for c in configs
        if isinstance(c.args.get("threshold"), int | float)
    }


def probe_thresholds(settings: Settings, root: Path) -> dict[str, float]:
    """The thresholds of the probes configured in the repository at `root`, read as the run
    reads them; a probe whose config cannot be read is left out (its texts then say the
    default's threshold, and that the probe's own is not known), and so is every probe when
    there is no probes folder."""
    from alerting.probes.config import collect_for

    try:
        configs, _ = collect_for(settings, [root / settings.probes_dir])
    except UserError:
        return {}
    return thresholds_of(configs)


def command_thresholds(args: argparse.Namespace, settings: Settings) -> dict[str, float]:
    """`probe_thresholds` of the repository a command's `--root` names; none with the older
    `--state DIR`, which names no repository."""
    return {} if args.state is not None else probe_thresholds(settings, args.root)
