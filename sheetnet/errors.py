"""The one exception type a user ever sees: a one-line message saying what is wrong and the fix."""


class SheetnetError(Exception):
    """Bad input or an impossible request; ``str(err)`` is shown to the user as one line."""
