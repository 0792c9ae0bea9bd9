"""Errors meant for the person running the tool.

Each message is one line that names the problem and says what to do; the CLI prints it with no
traceback. Anything else that escapes is a bug and keeps its traceback.

Messages speak the library's words: a setting is named by its Config field (`tile_size`), marked
with `named` so that a command line can say it its own way (`spelled`: the CLI writes `--tile_size`).
"""

from __future__ import annotations

import re
from collections.abc import Callable

_NAMED = re.compile("\x1e(\\w+)\x1f")


def named(setting: str) -> str:
    """A setting (a Config field, or a function's argument) as an error message names it: the
    library's message says its name, a command line its flag (StyleTransferError.spelled)."""
    return f"\x1e{setting}\x1f"


class StyleTransferError(Exception):
    """Base class: `str(error)` is a complete, user-facing, one-line message.

    The message may name settings with `named`: str() says them by name, spelled() as asked.
    """

    def __init__(self, message: str):
        self.template = message
        super().__init__(_NAMED.sub(r"\1", message))

    @property
    def fields(self) -> tuple[str, ...]:
        """The settings the message names, in order."""
        return tuple(_NAMED.findall(self.template))

    def spelled(self, spell: Callable[[str], str]) -> str:
        """The message with each setting it names written as spell(name) (a command line's flag)."""
        return _NAMED.sub(lambda match: spell(match.group(1)), self.template)


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
    step.ImageOptimizer.run so that the per-scale runner can go on in float32.
    """

    def __init__(self, message: str, last_image=None, steps_done: int = 0):
        super().__init__(message)
        self.last_image = last_image
        self.steps_done = steps_done


class OutOfMemoryError(StyleTransferError, MemoryError):
    """The device ran out of memory at some image size (the message names it and what to lower)."""


class PrecisionFallbackWarning(RuntimeWarning):
    """A reduced precision gave a non-finite loss; the run went on in float32 (one-line message)."""
