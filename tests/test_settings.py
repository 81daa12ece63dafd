"""Settings: alerting.toml, ALERTING_<SECTION>_<KEY> overrides, secrets from the environment."""

import pytest

from alerting.errors import UserError
from alerting.settings import load_settings, redact, secret


def test_embedded_default_without_file_or_variables(tmp_path):
    settings = load_settings(tmp_path, environ={})
    assert settings.data.source == "sample"
    assert settings.delivery.mode == "outbox"
    assert settings.email.cap == 50
    assert settings.detect.lookback_days == 30
    assert settings.data.channels == ["nightly"]


def test_file_then_environment(tmp_path):
    (tmp_path / "alerting.toml").write_text(
        '[bugzilla]\nurl = "https://bugzilla.example.org"\n'
        'default_product = "Firefox"\n[email]\ncap = 10\n[data]\nchannels = ["nightly", "beta"]\n'
    )
    settings = load_settings(
        tmp_path,
        environ={
            "ALERTING_BUGZILLA_URL": "http://127.0.0.1:9",
            "ALERTING_EMAIL_CAP": "3",
            "ALERTING_EMAIL_FROM": "alerts@example.com",
            "ALERTING_SMTP_PORT": "2525",
            "ALERTING_SMTP_STARTTLS": "false",
        },
    )
    assert settings.bugzilla.url == "http://127.0.0.1:9"
    assert settings.bugzilla.default_product == "Firefox"
    assert settings.email.cap == 3 and settings.email.sender == "alerts@example.com"
    assert settings.smtp.port == 2525 and settings.smtp.starttls is False
    assert settings.data.channels == ["nightly", "beta"]


def test_data_files_are_relative_to_the_repository_root(tmp_path):
    (tmp_path / "alerting.toml").write_text('[data]\npaths = ["rows.jsonl", "/abs/rows.csv"]\n')
    settings = load_settings(tmp_path, environ={})
    assert settings.data.paths == [str(tmp_path / "rows.jsonl"), "/abs/rows.csv"]


@pytest.mark.parametrize(
    ("text", "environ", "message"),
    [
        ("[email]\ncap = 'ten'\n", {}, r"\[email\] cap: expected a whole number, got 'ten'"),
        ("[mail]\ncap = 1\n", {}, r"\[mail\]: unknown section"),
        ("[email]\ncaps = 1\n", {}, r"\[email\] caps: unknown setting"),
        ("[email\n", {}, "not valid TOML"),
        ("", {"ALERTING_EMAIL_CAP": "many"}, "ALERTING_EMAIL_CAP: expected a whole number"),
        ("", {"ALERTING_DELIVERY_MODE": "carrier-pigeon"}, "use one of outbox, live"),
    ],
)
def test_mistakes_name_the_setting(tmp_path, text, environ, message):
    (tmp_path / "alerting.toml").write_text(text)
    with pytest.raises(UserError, match=message):
        load_settings(tmp_path, environ=environ)


@pytest.mark.parametrize(
    ("text", "says"),
    [
        (
            'data = "sample"\n',
            "data: [data] is a section, not a setting: write [data] on a line of its own",
        ),
        (
            '[data]\nsample_end = "2026-11-31"\n',
            "[data] sample_end: '2026-11-31' is not a day; write it YYYY-MM-DD",
        ),
        ('[data]\nsample_end = "yesterday"\n', "[data] sample_end: 'yesterday' is not a day"),
        (
            "[data]\nhistory_days = 100000000000\n",
            "[data] history_days: 100000000000 is out of range; use a whole number of days "
            "from 1 to 3,650",
        ),
        ("[data]\nhistory_days = -5\n", "[data] history_days: -5 is out of range"),
        (
            "[detect]\nlookback_days = 99999999999\n",
            "[detect] lookback_days: 99999999999 is out of range; use a whole number of days",
        ),
        ("[detect]\nlookback_days = -1\n", "[detect] lookback_days: -1 is out of range"),
        (
            "[email]\ncap = -1\n",
            "[email] cap: -1 is out of range; use a whole number of digests per run from 1 to "
            "10,000",
        ),
        ("[smtp]\nport = 70000\n", "[smtp] port: 70000 is out of range"),
        ("[data]\nmaximum_bytes_billed = 0\n", "[data] maximum_bytes_billed: 0 is out of"),
        ('[data]\nchannels = ["Nightly"]\n', "[data] channels: 'Nightly' is not a channel"),
        ("[data]\nchannels = []\n", "[data] channels: no channel; list some of nightly"),
        ("[bugzilla]\nreminder_days = 0\n", "[bugzilla] reminder_days: 0 is out of range"),
        ("[data]\nhistory_days = " + "1" * 5000 + "\n", "a number has thousands of digits"),
        ("[data]\nsample_end = 2026-11-01\n", 'write it in quotes: "2026-11-01"'),
        ('[data]\npaths = "rows.jsonl"\n', 'write it as a list: ["rows.jsonl"]'),
    ],
)
def test_values_out_of_range_or_form_name_file_section_and_key(tmp_path, text, says):
    (tmp_path / "alerting.toml").write_text(text)
    with pytest.raises(UserError) as info:
        load_settings(tmp_path, environ={})
    assert str(info.value).startswith(f"{tmp_path / 'alerting.toml'}: ")
    assert says in str(info.value)


def test_environment_values_are_checked_the_same_way(tmp_path):
    with pytest.raises(UserError, match="ALERTING_DETECT_LOOKBACK_DAYS: 0 is out of range"):
        load_settings(tmp_path, environ={"ALERTING_DETECT_LOOKBACK_DAYS": "0"})
    settings = load_settings(
        tmp_path,
        environ={"ALERTING_DATA_SAMPLE_END": "2026-11-30", "ALERTING_DATA_CHANNELS": "beta"},
    )
    assert settings.data.sample_end == "2026-11-30" and settings.data.channels == ["beta"]


def test_secrets_only_from_the_environment(tmp_path):
    (tmp_path / "alerting.toml").write_text('[bugzilla]\napi_key = "abc"\n')
    with pytest.raises(UserError, match="unknown setting"):
        load_settings(tmp_path, environ={})
    assert secret("BUGZILLA_API_KEY", {"BUGZILLA_API_KEY": "k"}) == "k"
    with pytest.raises(KeyError):
        secret("HOME", {})


@pytest.mark.parametrize(
    "user,reply,shown",
    [
        (
            "ci",
            "535 ci: specific credentials rejected",
            "535 [redacted]: specific credentials rejected",
        ),
        ("a", "535 a: bad auth, try again", "535 [redacted]: bad auth, try again"),
        ("a", "535 user=a", "535 user=[redacted]"),
        ("ci", "535 ci2 cia 2ci ci_x", "535 ci2 cia 2ci [redacted]_x"),
    ],
)
def test_a_short_user_name_is_redacted_where_it_stands_alone_not_inside_words(user, reply, shown):
    assert redact(reply, [user, "s3cret-pw"]) == shown


def test_a_long_secret_is_redacted_even_inside_a_word():
    reply = "535 refused xs3cret-pwy and s3cret-pw for ci"
    assert (
        redact(reply, ["ci", "s3cret-pw"])
        == "535 refused x[redacted]y and [redacted] for [redacted]"
    )
