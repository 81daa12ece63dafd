import argparse

import pytest

from alerting.cli import build_parser, main


def test_help_exits_zero(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["--help"])
    assert exit_info.value.code == 0
    assert "alerting" in capsys.readouterr().out


def test_unknown_command_is_a_usage_error():
    with pytest.raises(SystemExit) as exit_info:
        main(["no-such-command"])
    assert exit_info.value.code == 2


def _commands(parser, path=()):
    """(command words, parser) for every command and subcommand."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield (*path, name), sub
                yield from _commands(sub, (*path, name))


def test_every_day_and_directory_option_shows_its_format():
    shown = {"--date": "YYYY-MM-DD", "--root": "DIR", "--out": "DIR"}
    wrong = [
        (" ".join(words), option, action.metavar)
        for words, parser in _commands(build_parser())
        for action in parser._actions
        for option in action.option_strings
        if option in shown and action.help != argparse.SUPPRESS and action.metavar != shown[option]
    ]
    assert wrong == []
