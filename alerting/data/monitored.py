"""Which daily series a monitor config covers: its platforms, channels and labels.

Shared by the daily run and the backtest, so both look at exactly the same series.
"""

from __future__ import annotations

from alerting.data.model import CHANNELS, DailySeries, SeriesKey, os_of


def channel_matches(key: SeriesKey, channel: str) -> bool:
    """GLAM tables are per channel; rows may name it in `channel` or (FOG) in `app_id`."""
    if key.channel:
        return key.channel == channel
    return key.app_id in ("", channel) or key.app_id not in CHANNELS


def monitored_series(
    series: dict[SeriesKey, DailySeries], channels: list[str], config
) -> tuple[list[tuple[str, str, SeriesKey]], list[str]]:
    """(platform, channel, key) of every series a config monitors, and what has no data.

    Labeled probes are one series per label (only the configured labels when static)."""
    wanted, missing = [], []
    for platform in config.platforms:
        os_value = os_of(platform)
        for channel in channels:
            keys = [
                k
                for k in series
                if k.metric == config.metric and k.os == os_value and channel_matches(k, channel)
            ]
            if config.labeled:
                if config.labels:
                    keys = [k for k in keys if k.metric_key in config.labels]
            else:
                keys = [k for k in keys if k.metric_key == ""]
            if not keys:
                missing.append(f"{config.probe}: no data on {platform} {channel}")
            wanted += [(platform, channel, k) for k in sorted(keys)]
    return wanted, missing
