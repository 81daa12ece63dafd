"""How a value found in a row is named in a problem: its repr, bounded in length and depth.

A hostile row may hold a value nested a thousand levels deep (the JSON parser reads up to
1,024) or megabytes long; `repr` of the one fails with RecursionError and of the other makes
a message nobody can read.
"""

from __future__ import annotations

import reprlib

_REPR = reprlib.Repr()
_REPR.maxlevel = 3
_REPR.maxstring = _REPR.maxother = _REPR.maxlong = 80
_REPR.maxlist = _REPR.maxtuple = _REPR.maxdict = _REPR.maxset = 6


def shown(value: object) -> str:
    """`repr(value)` for a short plain value; shortened with "..." past 80 characters, six
    items or three levels."""
    return _REPR.repr(value)
