"""Errors meant for the person running the tool.

Each message is one line that names the problem and says what to do; the CLI prints it as is, with
no traceback. Anything else that escapes is a bug and keeps its traceback.
"""


class StyleTransferError(Exception):
    """Base class: `str(error)` is a complete, user-facing, one-line message."""


class ConfigError(StyleTransferError, ValueError):
    """A setting is out of range or names something that does not exist."""


class ImageError(StyleTransferError):
    """An input image cannot be read, or an output image cannot be written."""


class WeightsError(StyleTransferError):
    """Network weights cannot be found, downloaded or loaded."""


class NonFiniteLossError(StyleTransferError, FloatingPointError):
    """The loss became NaN or infinite during optimisation."""
