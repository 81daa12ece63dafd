import datetime as dt
import logging
import warnings

import numpy as np
import pytest
from scipy.special import ndtr

from alerting.data.model import DailySeries
from alerting.detect.registry import get_technique, parse_args, techniques
from tests.detect_series import START, build, day

NAMES = ("cdf_squared", "quantile_steps")


def run(name: str, series: DailySeries, *items: str):
    technique = get_technique(name)
    parsed = parse_args(technique, items)
    assert not parsed.errors
    return technique.detect(series, parsed.values)


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("size", [0.15, -0.15])
def test_a_clean_step_is_found_on_its_first_day(name, size):
    found = run(name, build(shift={70: size}))
    assert [d.date for d in found] == [day(70)]
    change = found[0]
    assert change.direction == ("up" if size > 0 else "down")
    assert change.build_id == "2024031103"
    assert change.technique == name
    assert change.score > 0 and change.score_meaning
    ratio = change.after.median / change.before.median
    assert ratio == pytest.approx(np.exp(size), rel=0.03)
    assert change.before.p05 < change.before.median < change.before.p95
    assert change.before.samples == pytest.approx(20000, rel=0.05)


@pytest.mark.parametrize("name", NAMES)
def test_flat_noise_is_not_a_change(name):
    for seed in range(5):
        assert run(name, build(days=365, seed=seed)) == []


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("spike", [{60: 0.5}, {60: -0.4, 61: -0.4}, {60: 0.6, 61: 0.6}])
def test_a_spike_that_reverts_is_not_a_change(name, spike):
    assert run(name, build(spike=spike)) == []


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize(
    ("spike", "gaps"),
    [
        ({60: 0.5}, (61,)),  # a one-day spike, then a day without data
        ({60: 0.5, 61: 0.5}, (61,)),  # a two-day spike whose second day has no data
        ({60: 0.5, 61: 0.5}, (62,)),  # a two-day spike, then a day without data
        ({60: 0.5, 61: 0.5}, (59,)),  # a day without data, then a two-day spike
    ],
)
def test_a_spike_next_to_a_day_without_data_is_not_a_change(name, spike, gaps):
    # The spike rule counts calendar days: two days with data around a missing one are no
    # three-day change when the spike lasts two calendar days. Nor on any day in between.
    series = build(spike=spike, gaps=gaps)
    assert run(name, series) == []
    for i in range(58, 70):
        assert run(name, series.until(day(i))) == []


@pytest.mark.parametrize("name", NAMES)
def test_a_step_whose_second_day_has_no_data_is_confirmed_on_its_third_day(name):
    # Days 70 and 72 have data and agree: by day 72 the new level has lasted three calendar
    # days, more than a spike, although only two days with data show it.
    series = build(shift={70: 0.15}, gaps=(71,))
    assert run(name, series.until(day(71))) == []
    assert [d.date for d in run(name, series.until(day(72)))] == [day(70)]
    assert [d.date for d in run(name, series)] == [day(70)]


@pytest.mark.parametrize("name", NAMES)
def test_a_spike_is_reported_when_spikes_are_not_ignored(name):
    found = run(name, build(spike={60: 0.5}), "short_term_spikes_ignored=false")
    assert [d.date for d in found] == [day(60)]
    assert found[0].direction == "up"


@pytest.mark.parametrize("name", NAMES)
def test_a_volume_change_alone_is_not_a_change(name):
    assert run(name, build(volume={50: 0.3, 80: 8.0})) == []


@pytest.mark.parametrize("name", NAMES)
def test_two_changes_are_two_detections(name):
    found = run(name, build(days=200, shift={60: 0.2, 130: -0.2}))
    assert [(d.date, d.direction) for d in found] == [(day(60), "up"), (day(130), "down")]


@pytest.mark.parametrize("name", NAMES)
def test_a_second_change_soon_after_the_first_is_measured_against_the_new_level(name):
    found = run(name, build(days=200, shift={60: 0.2, 75: 0.2}))
    assert [(d.date, d.direction) for d in found] == [(day(60), "up"), (day(75), "up")]
    second = found[1]
    assert second.after.median / second.before.median == pytest.approx(np.exp(0.2), rel=0.03)


@pytest.mark.parametrize("name", NAMES)
def test_a_step_right_after_a_noisy_stretch_is_dated_to_its_own_first_day(name):
    # Days 60-64 drift up a little (not a change on their own); the step comes on day 65.
    series = build(days=160, spike={i: 0.04 for i in range(60, 65)}, shift={65: 0.3})
    assert [d.date for d in run(name, series)] == [day(65)]


@pytest.mark.parametrize("name", NAMES)
def test_a_small_step_is_found_once_enough_days_show_it(name):
    # About two day-to-day noise widths: not sure after three days, clear after a few weeks.
    series = build(days=200, shift={100: 0.04}, noise=0.02)
    technique = get_technique(name)
    assert technique.detect(series.until(day(110)), technique.defaults()) == []
    assert [d.date for d in run(name, series)] == [day(100)]


def test_quantile_steps_finds_a_slow_path_of_two_percent_of_the_samples():
    # The top moves (2 % of the samples become 8 times slower); the median hardly.
    series = build(days=160, slow={90: (0.02, 8.0)}, samples=50000)
    found = run("quantile_steps", series)
    assert [(d.date, d.direction) for d in found] == [(day(90), "up")]
    assert found[0].after.median == pytest.approx(found[0].before.median, rel=0.05)
    assert found[0].after.p95 > 1.1 * found[0].before.p95


@pytest.mark.parametrize("name", NAMES)
def test_a_step_below_the_minimum_effect_is_ignored(name):
    series = build(shift={70: 0.1}, noise=0.002)
    assert [d.date for d in run(name, series)] == [day(70)]
    assert run(name, series, "min_effect=0.2") == []


@pytest.mark.parametrize("name", NAMES)
def test_threshold_one_never_alerts(name):
    assert run(name, build(shift={70: 0.3}), "threshold=1") == []


@pytest.mark.parametrize("name", NAMES)
def test_the_change_is_reported_once_with_the_same_date_every_later_day(name):
    series = build(days=150, shift={70: 0.12})
    seen = {}
    for i in range(60, 150):
        for d in get_technique(name).detect(series.until(day(i)), get_technique(name).defaults()):
            seen.setdefault(d.date, []).append(i)
    assert list(seen) == [day(70)]
    first = seen[day(70)][0]
    assert 70 <= first <= 73  # a few days after the change
    assert seen[day(70)] == list(range(first, 150))  # reported on every later day, same date


@pytest.mark.parametrize("name", NAMES)
def test_detection_is_deterministic(name):
    series = build(days=150, shift={70: 0.12}, spike={100: 0.5})
    assert run(name, series) == run(name, series)


@pytest.mark.parametrize("name", NAMES)
def test_short_series_give_no_detection_and_a_note(name, caplog):
    with caplog.at_level(logging.INFO):
        assert run(name, build(days=12, shift={6: 0.5})) == []
    assert "usable days" in caplog.text
    assert run(name, build(days=120).until(START - dt.timedelta(days=1))) == []


@pytest.mark.parametrize("name", NAMES)
def test_gaps_and_thin_days_are_survived(name):
    series = build(days=160, shift={90: 0.2}, gaps=(10, 11, 12, 50, 89, 91, 120))
    series.counts[30] *= 0.001  # a day with a handful of samples
    series.counts[31] = 0.0  # present but empty
    found = run(name, series)
    assert [d.date for d in found] == [day(90)]


@pytest.mark.parametrize("name", NAMES)
def test_degenerate_histograms_do_not_crash(name):
    single = build(days=60)
    single = DailySeries(
        key=single.key,
        metric_type=single.metric_type,
        start=single.start,
        buckets=np.array([1.0]),
        counts=np.full((60, 1), 100.0),
        present=single.present,
        build_ids=single.build_ids,
    )
    assert run(name, single) == []
    zeros = build(days=60)
    zeros.counts[:] = 0.0
    assert run(name, zeros) == []
    empty = build(days=60).until(START)
    assert run(name, empty) == []


def test_both_techniques_are_registered_with_documented_arguments():
    registered = techniques()
    for name in NAMES:
        technique = registered[name]
        assert {"threshold", "short_term_spikes_ignored", "min_effect"} <= set(technique.defaults())
        assert technique.defaults()["threshold"] == 0.97
        assert all(a.help for a in technique.args)
    assert get_technique("cdf-squared") is registered["cdf_squared"]


@pytest.mark.parametrize(
    ("item", "message"),
    [
        ("threshold=2", "at most 1"),
        ("threshold=high", "takes a number"),
        ("short_term_spikes_ignored=maybe", "True or False"),
        ("window=7", "unknown argument"),
        ("threshold", "expected key=value"),
    ],
)
def test_bad_arguments_are_named(item, message):
    parsed = parse_args(get_technique("cdf_squared"), [item])
    assert len(parsed.errors) == 1
    assert message in parsed.errors[0][1]


def _payday_series(seed: int) -> DailySeries:
    """A level that jumps for a few days every 30 days and is otherwise nearly flat, in a
    narrow distribution (a quarter of the level's range wide) of 300 samples a day: after some
    candidate starts every usable day is a possible spike."""
    rng = np.random.default_rng(seed)
    index = np.arange(400)
    level = np.log2(7.3 + (index % 30 < rng.integers(3, 9)) + rng.normal(0, 0.02, 400))
    width = (level.max() - level.min()) / 4
    edges = np.arange(np.floor((level.min() - 3 * width) * 8), (level.max() + 3 * width) * 8) / 8
    upper = ndtr((edges[1:, None] - level[None, :]) / width).T
    probs = np.diff(np.concatenate([np.zeros((400, 1)), upper, np.ones((400, 1))], axis=1))
    counts = np.array([rng.multinomial(300, p / p.sum()) for p in probs], dtype=float)
    template = build(days=400)
    return DailySeries(
        key=template.key,
        metric_type="timing_distribution",
        start=START,
        buckets=2.0**edges,
        counts=counts,
        present=template.present,
        build_ids=template.build_ids,
    )


@pytest.mark.parametrize("name", NAMES)
def test_candidates_with_only_spike_days_after_them_raise_no_numpy_warning(name):
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        run(name, _payday_series(37))  # a draw where some candidates have none
