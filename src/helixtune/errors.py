"""User-facing errors.

Anything a user can cause (a bad file, a wrong option) raises `HelixtuneError` with a one-line message
that names the file, the line or record, and what is wrong. The command-line entry point prints it
and exits non-zero, without a traceback.
"""


class HelixtuneError(Exception):
    """An error caused by the user's input; its message is shown as is, on one line."""

    def __init__(self, message: str):
        super().__init__(" ".join(str(message).split()))


class InputFileError(HelixtuneError):
    """A file that is missing, unreadable or malformed."""

    def __init__(self, path, problem: str, where: str | None = None):
        location = f"{path}" if where is None else f"{path}, {where}"
        super().__init__(f"{location}: {problem}")
        self.path = path
        self.problem = problem
