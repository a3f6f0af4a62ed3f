"""The one error type attncore raises for bad input."""


class InputError(ValueError):
    """Bad input: the message names the field and what was expected, on one line."""
