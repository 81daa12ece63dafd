"""Detection on what real nightly telemetry does beyond a clean log-normal: other bucketings,
bimodal baselines, drifts, weekly cycles, holidays, gaps, and the same series sampled again."""

import datetime as dt

import numpy as np
import pytest
from scipy.special import stdtrit

from alerting.data.generator import generate
from alerting.data.series import series_from_rows
from alerting.detect.confirmation import cuts, tail_for
from alerting.detect.days import _median3, _median7, far_off_days, nanmedian_last, usable_days
from alerting.detect.registry import get_technique
from alerting.detect.window_scores import Features, windows
from tests.detect_series import ar_level, build, day

NAMES = ("cdf_squared", "quantile_steps")


def run(name, series):
    technique = get_technique(name)
    return technique.detect(series, technique.defaults())


def alerts_on_wandering_levels(name, first_seed, phi, spread, **build_args) -> int:
    """Alerts over twenty change-free series-years whose level follows an AR(1) path."""
    alerts = 0
    for seed in range(20):
        level = ar_level(np.random.default_rng(first_seed + seed), phi, spread, 365)
        spike = {i: float(v) for i, v in enumerate(level)}
        alerts += len(run(name, build(days=365, noise=0.0, spike=spike, seed=seed, **build_args)))
    return alerts


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("size", [0.08, -0.08])
def test_a_step_in_linear_buckets_moves_values_by_an_absolute_amount(name, size):
    # The median moves from 40 to 40 * (1 + size): a few buckets of 2 each.
    found = run(name, build(days=150, shift={80: size}, buckets="linear", noise=0.01))
    assert [(d.date, d.direction) for d in found] == [(day(80), "up" if size > 0 else "down")]
    assert found[0].after.median - found[0].before.median == pytest.approx(40 * size, abs=1.0)


@pytest.mark.parametrize("name", NAMES)
def test_a_memory_step_is_found(name):
    found = run(name, build(days=150, shift={90: 0.1}, buckets="memory"))
    assert [(d.date, d.direction) for d in found] == [(day(90), "up")]


@pytest.mark.parametrize("name", NAMES)
def test_a_bimodal_baseline_is_no_change_and_a_step_of_its_fast_path_is_one(name):
    fast_and_slow = {"bimodal": (0.35, 10.0), "days": 200}
    assert run(name, build(**fast_and_slow)) == []
    found = run(name, build(shift={120: -0.15}, **fast_and_slow))
    assert [(d.date, d.direction) for d in found] == [(day(120), "down")]


@pytest.mark.parametrize("name", NAMES)
def test_a_slow_drift_raises_at_most_one_alert(name):
    # 12 % over 90 days in noise of 1 %: the level ends far from where it began.
    for seed in range(3):
        series = build(days=300, drift=(80, 90, 0.12), noise=0.01, seed=seed)
        assert len(run(name, series)) <= 1


@pytest.mark.parametrize("name", NAMES)
def test_a_step_weeks_after_a_steep_drift_is_found(name):
    # 15 % in 60 days (seven noise widths every four weeks) ends 40 days before a step of six
    # widths. Over four weeks such a drift moves the level as a wandering one does; a reading
    # of the wander that took it for one would leave the step unseen for months.
    series = build(days=365, noise=0.01, drift=(150, 60, 0.15), shift={250: 0.06})
    assert [(d.date, d.direction) for d in run(name, series)] == [(day(250), "up")]


@pytest.mark.parametrize("name", NAMES)
def test_a_small_step_under_a_strong_weekly_cycle_is_found(name):
    # Weekdays differ by up to 12 % of the median, twenty times the day noise (0.6 %); the
    # step is 3 %: a quarter of the weekly swing.
    series = build(days=200, weekly=0.12, noise=0.006, shift={120: 0.03})
    assert [d.date for d in run(name, series)] == [day(120)]


@pytest.mark.parametrize("name", NAMES)
def test_a_two_day_holiday_dip_is_not_a_change(name):
    series = build(days=150, spike={100: -0.15, 101: -0.15}, volume={100: 0.3, 102: 1 / 0.3})
    assert run(name, series) == []


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("seed", [0, 1])
def test_a_step_five_weeks_after_a_three_day_excursion_is_found(name, seed):
    # Three days 15 noise widths up, then back; a step of 5 widths 35 days later. Counted as
    # day-to-day noise, the three days would widen it threefold for six weeks and hide the
    # step. The excursion itself may alert; coming back from it is no second change.
    series = build(days=200, spike={100: 0.3, 101: 0.3, 102: 0.3}, shift={135: -0.1}, seed=seed)
    found = [(d.date, d.direction) for d in run(name, series)]
    assert (day(135), "down") in found
    assert set(found) <= {(day(100), "up"), (day(135), "down")}


def test_the_median_of_seven_days_by_network_is_the_median_ignoring_missing_days():
    rng = np.random.default_rng(2)
    stacked = rng.normal(size=(300, 5, 7))
    stacked[rng.random(stacked.shape) < 0.1] = np.nan
    stacked[:2] = np.nan
    by_network = _median7([stacked[..., i].copy() for i in range(7)])
    np.testing.assert_array_equal(by_network, nanmedian_last(stacked))


def test_the_median_of_three_days_is_the_median_ignoring_missing_days():
    rng = np.random.default_rng(3)
    stacked = rng.normal(size=(300, 5, 3))
    stacked[rng.random(stacked.shape) < 0.3] = np.nan
    stacked[:2] = np.nan
    by_network = _median3(*(stacked[..., i].copy() for i in range(3)))
    np.testing.assert_array_equal(by_network, nanmedian_last(stacked))


@pytest.mark.parametrize("seed", range(3))
def test_a_one_day_dip_smaller_than_the_weekly_swing_is_a_spike(seed):
    # Weekdays differ by up to 12 % of the median in noise of 0.6 %; one day 8 % down. Next to
    # the days around it the swing alone moves a day by up to 13 %.
    days = usable_days(build(days=150, weekly=0.12, noise=0.006, spike={100: -0.08}, seed=seed))
    assert list(np.flatnonzero(days.transient)) == [100]


def test_far_off_days_are_excursions_and_first_days_of_steps_not_the_weekly_pattern():
    rng = np.random.default_rng(5)
    days = 120
    weekly = np.tile([0.0, 0.0, 0.0, 0.0, 0.0, 2.0, 2.0], days // 7 + 1)[:days]
    values = rng.normal(0.0, 0.1, (days, 4)) + weekly[:, None]  # weekends 20 widths up
    values[60:63] += 3.0  # an excursion of three days
    values[90:] += 3.0  # a step
    index = np.arange(days)
    # Calendar days, not rows: the weekly pattern lines up across a gap of three days.
    kept = np.r_[0:40, 43:days]
    for rows in (index, kept):
        far = index[rows][far_off_days(values[rows], np.zeros(rows.size, bool), rows, 1e-3)]
        assert list(far[far < 90]) == [60, 61, 62]
        assert {90, 91, 92} <= set(far)


@pytest.mark.parametrize("name", NAMES)
def test_a_step_after_ten_days_without_data_is_found_after_the_gap(name):
    # No data on days 90-99; the new behaviour starts with the first day after the gap.
    series = build(days=160, shift={95: 0.15}, gaps=tuple(range(90, 100)))
    found = run(name, series)
    assert [(d.date, d.direction) for d in found] == [(day(100), "up")]


@pytest.mark.parametrize("name", NAMES)
def test_a_wandering_level_rarely_alerts(name):
    # Day noise with lag-1 correlation 0.75: the level wanders for weeks, with no change.
    # Ten series-years; measured in its own day-to-day noise alone it drew 10-19 alerts.
    alerts = sum(len(run(name, build(days=365, noise=0.01, phi=0.75, seed=s))) for s in range(10))
    assert alerts <= 2


@pytest.mark.parametrize("name", NAMES)
def test_a_level_wandering_with_correlation_0_9_rarely_alerts(name):
    # Lag-1 correlation 0.9 at 200,000 samples a day: the level drifts for weeks, and months of
    # days read its correlation lower than it is. Twenty series-years without any change; a
    # candidate must also jump where it starts (8 alerts for `cdf_squared`, 10 for
    # `quantile_steps` without that).
    assert alerts_on_wandering_levels(name, 1000, 0.9, 0.02, samples=200000) <= 4


def test_a_distribution_narrower_than_a_bucket_rarely_alerts():
    # Values 3 % wide in timing buckets 9 % wide, the level wandering by 1 % (lag-1 correlation
    # 0.5): the half-octave grid leaves one CDF column that can move, in the tail, where an even
    # wander moves it by leaps. Twenty series-years without a change; read on that one column
    # in CDF units, 16 alerts.
    assert alerts_on_wandering_levels("cdf_squared", 2000, 0.5, 0.01, width=0.03) <= 2


def test_values_piled_into_one_or_two_linear_buckets_rarely_alert():
    # Values 0.7 wide in linear buckets 2 wide, on a level wandering by 1 % of the median: three
    # columns move over the year, but on a typical day one at most. Twenty series-years without
    # a change; read in CDF units on the grid, 10 alerts.
    linear = {"width": 0.7, "buckets": "linear"}
    assert alerts_on_wandering_levels("cdf_squared", 3000, 0.5, 0.01, **linear) <= 4


@pytest.mark.parametrize("size", [0.05, -0.05])
def test_a_step_of_a_distribution_narrower_than_a_bucket_is_found(size):
    # A step within a half-octave of the grid: downwards it moved no grid column that could
    # move, and was never found.
    series = build(days=300, noise=0.01, width=0.03, shift={200: size})
    assert [d.date for d in run("cdf_squared", series)] == [day(200)]


def test_features_judged_one_by_one_each_have_their_own_correlation():
    # A level that wanders (lag-1 correlation 0.9) next to a feature of independent days five
    # times as wide, as a median next to a p99 full of sampling noise. Pooled, the wide one
    # dominates and the pair reads as barely correlated; judged one by one (the largest
    # feature score), the wandering one keeps its own memory.
    rng = np.random.default_rng(3)
    values = np.column_stack([ar_level(rng, 0.9, 1.0, 300), rng.normal(0.0, 5.0, 300)])
    transient = np.zeros(300, dtype=bool)
    pooled = windows(Features(values=values, combine="rms"), transient)
    one_by_one = windows(Features(values=values, combine="max"), transient)
    late = slice(150, 300)
    assert np.median(pooled.phi[late]) < 0.3
    assert np.median(one_by_one.feature_phi[late, 0]) > 0.6
    assert np.median(one_by_one.feature_phi[late, 1]) < 0.3


def test_quantiles_of_a_wandering_level_in_sampling_noise_rarely_alert():
    # A level with lag-1 correlation 0.9 at 20,000 samples a day: the sampling noise of p99 is
    # far wider than the wander, that of p05-p75 far narrower. Twenty series-years; with one
    # correlation pooled over the quantiles, 15 alerts.
    assert alerts_on_wandering_levels("quantile_steps", 1000, 0.9, 0.02) <= 10


def test_a_wandering_share_of_slow_samples_rarely_alerts():
    # A slow path (4x slower) whose share wanders around 15 % (lag-1 correlation 0.9, spread 2
    # points) on 1 % location noise: the upper CDF columns wander together, the middle ones
    # carry independent noise that dilutes the pooled correlation. Twenty series-years; without
    # measuring the noise along the shift over months, 12 alerts.
    alerts = 0
    for seed in range(20):
        share = np.clip(0.15 + ar_level(np.random.default_rng(1000 + seed), 0.9, 0.02, 365), 0, 1)
        slow = {i: (float(v), 4.0) for i, v in enumerate(share)}
        alerts += len(run("cdf_squared", build(days=365, slow=slow, noise=0.01, seed=seed)))
    assert alerts <= 9


@pytest.mark.parametrize("name", NAMES)
def test_a_step_of_a_wandering_level_jumps_and_is_found(name):
    # Three of the level's noise widths (0.06 on a spread of about 0.02) from one day to the next.
    series = build(days=300, noise=0.009, phi=0.9, samples=200000, seed=1, shift={200: 0.06})
    assert [d.date for d in run(name, series)] == [day(200)]


@pytest.mark.parametrize("name", NAMES)
def test_the_same_series_sampled_again_gives_the_same_detections(name):
    end = dt.date(2025, 6, 30)
    technique = get_technique(name)
    samples = [
        series_from_rows(
            generate(seed=5, n_series=8, days=240, end=end, family="hard", sampling_seed=s).rows
        )
        for s in (1, 2)
    ]
    agree = total = 0
    for key, first in samples[0].items():
        a = [d.date for d in technique.detect(first, technique.defaults())]
        b = [d.date for d in technique.detect(samples[1][key], technique.defaults())]
        for mine, theirs in ((a, b), (b, a)):
            total += len(mine)
            agree += sum(any(abs((x - y).days) <= 1 for y in theirs) for x in mine)
    assert total >= 6  # the set has changes to agree on
    assert agree / total >= 0.95


def test_features_that_move_independently_lower_the_cut_and_a_common_level_does_not():
    # Twelve features of independent day noise add up more evidence than one; the
    # same twelve carried by one wandering level are worth one feature.
    rng = np.random.default_rng(5)
    independent = rng.normal(0.0, 0.01, (200, 12))
    common = rng.normal(0.0, 0.01, (200, 1)) + rng.normal(0.0, 0.001, (200, 12))
    correlated = ar_level(rng, 0.9, 0.01, 200)[:, None] + rng.normal(0.0, 0.001, (200, 12))
    none = np.zeros(200, bool)
    dof = {
        name: windows(Features(values=x), none).dof[100:]
        for name, x in [("independent", independent), ("common", common), ("ar", correlated)]
    }
    assert dof["independent"].min() > 3.0  # read on six weeks: a cautious reading
    assert dof["common"].max() < 1.3
    assert np.all(dof["ar"] == 1.0)


def test_the_cut_of_one_feature_is_the_student_t_quantile_and_falls_with_more():
    tail = tail_for(0.97)
    one, four = cuts(tail, np.array([42.0, 42.0]), np.array([1.0, 4.0]))
    assert one == pytest.approx(stdtrit(41.0, 1.0 - tail / 2.0))
    assert cuts(tail, np.array([42.0]))[0] == pytest.approx(one)
    assert 2.5 < four < 0.75 * one


def test_a_small_shift_in_sampling_noise_alone_is_found():
    # 300 samples a day and no other noise: each bucket's CDF moves on its own from day to
    # day, and a shift of 10 % shows a little in each of them.
    series = build(days=200, shift={100: 0.1}, samples=300, noise=0.0, seed=0)
    assert [(d.date, d.direction) for d in run("cdf_squared", series)] == [(day(101), "up")]
    free = [build(days=365, samples=300, noise=0.0, seed=100 + seed) for seed in range(10)]
    assert sum(len(run("cdf_squared", s)) for s in free) == 0
