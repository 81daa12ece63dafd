"""Markdown rendering where every value is escaped unless it was built as trusted markup.

Bug descriptions, digests and run summaries are Markdown read by people and rendered by
Bugzilla and GitHub; probe names, labels and descriptions come from pull requests, so they
are escaped by default (Jinja2 `finalize`), never by remembering a filter.
"""

from __future__ import annotations

import re
from functools import cache
from urllib.parse import quote, urlsplit

import jinja2

from alerting.terminal import printable

# What can start markup inside one line of Markdown (or inline HTML that Bugzilla would render).
_MARKDOWN_SYNTAX = re.compile(r"([\\`*_\[\]<>&|~#])")


class Trusted(str):
    """Markdown our own code assembled from escaped parts; emitted as is."""


def one_line_text(value: object) -> str:
    """One line of literal text: line breaks folded, other control characters shown as
    escapes (`\\x1b`), never emitted raw."""
    return printable(" ".join(str(value).split()))


# What GitHub and Bugzilla turn into a link without any markup (GFM's extended autolinks):
# a label or description must not become a live link in the text the bot files.
_AUTOLINK = re.compile(r"(?i)\b(https?|ftp)(://)|\b(www)(\.)")


def escape_markdown(value: object) -> str:
    """`one_line_text` with Markdown punctuation backslash-escaped, and bare URLs kept text."""
    escaped = _MARKDOWN_SYNTAX.sub(r"\\\1", one_line_text(value))
    return _AUTOLINK.sub(lambda m: f"{m[1] or m[3]}\\{m[2] or m[4]}", escaped)


def link(text: object, url: str) -> Trusted:
    """A Markdown link whose text is escaped and whose target must be http(s)."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return Trusted(escape_markdown(text))
    # Percent-encode all but URL syntax: no space, bracket, parenthesis, angle bracket, line
    # break or non-ASCII character can end the link or start markup of its own.
    target = quote(url, safe="/:?#&=+;,%@!$*'~")
    return Trusted(f"[{escape_markdown(text)}]({target})")


def _finalize(value: object) -> object:
    if value is None:
        return ""
    if isinstance(value, Trusted):
        return str(value)
    return escape_markdown(value)


def _finalize_plain(value: object) -> object:
    return "" if value is None else one_line_text(value)


@cache
def environment(plain: bool = False) -> jinja2.Environment:
    """Markdown with every value escaped, or (`plain`) the same text for a terminal, where
    backslash escapes would only be noise; values stay one line without control characters."""
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("alerting.alerts", "templates"),
        autoescape=False,  # noqa: S701 -- Markdown, not HTML: _finalize escapes every value
        finalize=_finalize_plain if plain else _finalize,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.globals["link"] = link
    return env


def render(template: str, plain: bool = False, **context: object) -> str:
    return environment(plain).get_template(template).render(**context)
