"""The one error class a user of the training stage can hit: printed without a traceback."""


class PawliteError(Exception):
    """A problem with the user's input or environment, with a message that says what to do."""
