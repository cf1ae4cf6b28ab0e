"""The one exception type a user ever sees: a one-line message saying what is wrong and the fix."""

from __future__ import annotations

import re

LONGEST_WORD = 120  # a run of characters without a space (a path, a token) shown whole up to this
LONGEST = 1000  # the whole message


def shortened(message: str) -> str:
    """``message`` with what a user gave shortened where it is huge (a 120 KB ``--arch``): each
    word past ``LONGEST_WORD`` characters and the whole past ``LONGEST`` end in "…"."""
    message = re.sub(rf"\S{{{LONGEST_WORD + 1},}}",
                      lambda m: m.group()[:LONGEST_WORD - 20] + "…", message)
    return message if len(message) <= LONGEST else message[:LONGEST - 1] + "…"


class SheetnetError(Exception):
    """Bad input or an impossible request; ``str(err)`` is shown to the user as one line."""

    def __init__(self, message: str = "") -> None:
        super().__init__(shortened(str(message)))
