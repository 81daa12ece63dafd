"""Settings: alerting.toml, ALERTING_<SECTION>_<KEY> overrides, secrets from the environment."""

import pytest

from alerting.errors import UserError
from alerting.settings import load_settings, secret


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
        ("[email]\ncap = 'ten'\n", {}, r"\[email\] cap: expected a int"),
        ("[mail]\ncap = 1\n", {}, r"\[mail\]: unknown section"),
        ("[email]\ncaps = 1\n", {}, r"\[email\] caps: unknown setting"),
        ("[email\n", {}, "not valid TOML"),
        ("", {"ALERTING_EMAIL_CAP": "many"}, "ALERTING_EMAIL_CAP: expected a int"),
        ("", {"ALERTING_DELIVERY_MODE": "carrier-pigeon"}, "use one of outbox, live"),
    ],
)
def test_mistakes_name_the_setting(tmp_path, text, environ, message):
    (tmp_path / "alerting.toml").write_text(text)
    with pytest.raises(UserError, match=message):
        load_settings(tmp_path, environ=environ)


def test_secrets_only_from_the_environment(tmp_path):
    (tmp_path / "alerting.toml").write_text('[bugzilla]\napi_key = "abc"\n')
    with pytest.raises(UserError, match="unknown setting"):
        load_settings(tmp_path, environ={})
    assert secret("BUGZILLA_API_KEY", {"BUGZILLA_API_KEY": "k"}) == "k"
    with pytest.raises(KeyError):
        secret("HOME", {})
