"""Importing TensorFlow without its start-up chatter: for the command lines and the notebooks.

No flags and no TensorFlow at import time: `import_tensorflow_quietly()` does the import.
"""

from __future__ import annotations

import logging
import os
import sys


def import_tensorflow_quietly(info_logs: bool = False) -> None:
    """Import TensorFlow, and list its devices, without its start-up chatter on stderr (oneDNN, CUDA
    probes; absl's C++ logging ignores TF_CPP_MIN_LOG_LEVEL before it is initialised) and with its
    Python logger at WARNING (no INFO lines while saving models). info_logs: keep absl's INFO lines
    (a command line's --verbosity=0).

    Set TF_CPP_MIN_LOG_LEVEL yourself to see all of it again.
    """
    if "TF_CPP_MIN_LOG_LEVEL" in os.environ or "tensorflow" in sys.modules:
        import tensorflow  # noqa: F401

        return
    os.environ["TF_CPP_MIN_LOG_LEVEL"] = "2"
    sys.stderr.flush()
    saved = os.dup(2)
    try:
        with open(os.devnull, "w") as devnull:
            os.dup2(devnull.fileno(), 2)
            import tensorflow

            # The first device probe: a CUDA build without a GPU driver says "failed call to
            # cuInit" here (once; TensorFlow then finds no GPU, as the device lines report).
            tensorflow.config.list_physical_devices()
    finally:
        os.dup2(saved, 2)
        os.close(saved)
    tensorflow.get_logger().setLevel(logging.WARNING)
    if not info_logs:
        from absl import logging as absl_logging

        absl_logging.set_verbosity(absl_logging.WARNING)
