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
    """The loss became NaN or infinite during optimisation.

    `last_image`: the optimiser's answer before the failing step (float32 [N, H, W, 3], finite
    unless the run started there), and `steps_done`: the steps completed before it; set by
    optimize.Stylizer.run so that multiscale.stylize can go on in float32.
    """

    def __init__(self, message: str, last_image=None, steps_done: int = 0):
        super().__init__(message)
        self.last_image = last_image
        self.steps_done = steps_done


class OutOfMemoryError(StyleTransferError, MemoryError):
    """The device ran out of memory at some image size (the message names it and what to lower)."""


class PrecisionFallbackWarning(RuntimeWarning):
    """A reduced precision gave a non-finite loss; the run went on in float32 (one-line message)."""
