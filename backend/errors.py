"""The one exception type for problems a user can cause and fix (bad file, bad option, missing weights).

The command line prints its message on one line and exits non-zero without a traceback; anything else is a bug.
"""


class RetexError(Exception):
    """An expected failure, with a message written for the user."""
