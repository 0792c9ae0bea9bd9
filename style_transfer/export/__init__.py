"""SavedModel export for TF Serving.

- writer.py: a versioned, atomic SavedModel writer with warm-up requests, for any tf.Module;
- codecs.py: in-graph image decoding, resizing and PNG encoding;
- optimization.py: the optimisation exported on top of them (`export_saved_model`);
- network.py: a trained network exported (`export_network`) and converted to TFLite (`to_tflite`);
- cli.py: the `style-transfer-export` command line (`python -m style_transfer.export`).

Importing this package imports no TensorFlow; the names below load their module when first used,
so `python -m style_transfer.export --help` answers at once.
"""

import importlib

_LAZY = {
    "export_saved_model": "style_transfer.export.optimization",
    "StyleTransferModule": "style_transfer.export.optimization",
    "SERVING_SIGNATURE": "style_transfer.export.optimization",
    "IMAGES_SIGNATURE": "style_transfer.export.optimization",
    "warmup_request": "style_transfer.export.optimization",
    "export_network": "style_transfer.export.network",
    "to_tflite": "style_transfer.export.network",
    "ExportError": "style_transfer.export.writer",
    "WARMUP_FILE": "style_transfer.export.writer",
    "next_version": "style_transfer.export.writer",
    "write_saved_model": "style_transfer.export.writer",
}

__all__ = list(_LAZY)


def __getattr__(name):
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'style_transfer.export' has no attribute {name!r}")
