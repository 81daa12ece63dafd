import argparse
import re
from pathlib import Path

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


README = Path(__file__).resolve().parents[1] / "README.md"


def _named_commands(text: str) -> list[str]:
    """The commands README names: every `alerting ...` span, and the commands the comment of
    the `cache_dir` setting says keep data in the cache."""
    named = re.findall(r"`alerting ([^`]+)`", text)
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("cache_dir ="))
    comment = [lines[start].partition("#")[2]]
    for line in lines[start + 1 :]:
        if not line.lstrip().startswith("#"):
            break
        comment.append(line.lstrip()[1:])
    return named + re.findall(r"`([^`]+)`", " ".join(comment))


def test_the_readme_names_only_commands_that_exist():
    tree = {words for words, _ in _commands(build_parser())}
    named = _named_commands(README.read_text())
    assert "backtest" in named and "run --estimate" in named
    missing = []
    for span in named:
        path: tuple[str, ...] = ()
        for token in span.split():
            choices = token.split("|")  # `probes validate|list|diff|sync`
            if not all((*path, choice) in tree for choice in choices):
                break
            path += (choices[0],)
        if not path:
            missing.append(span)
    assert missing == []


def test_a_table_cell_is_one_line_whatever_it_holds():
    from alerting.textable import format_table

    text = format_table(["a\nb", "c"], [["x\ny\rz\tw\x1b[2J\x85\u202e", None], ["ok", 1]])
    lines = text.splitlines()
    assert len(lines) == 4 and "\r" not in text and "\t" not in text and "\x1b" not in text
    assert lines[0].startswith("a\\nb") and lines[2].startswith("x\\ny\\rz\\tw\\x1b[2J\\x85\\u202e")
