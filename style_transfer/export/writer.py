"""A SavedModel writer for TF Serving that any tf.Module can use: versioned, atomic, warmed up.

`write_saved_model(module, signatures, export_dir, name, version, warmup=...)` writes
`export_dir/name/version/` (the next free integer when version is None) under a hidden temporary
name beside it and renames it into place when complete, so TF Serving, which polls for integer
folders, never loads a half-written version; an existing version is never overwritten, and
nothing is left behind on failure. `warmup` ({signature name: {input name: value}}) becomes
assets.extra/tf_serving_warmup_requests, one PredictRequest per signature, each input typed by
the signature's own TensorSpec, which TF Serving runs while loading the model.
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
from collections.abc import Mapping
from typing import Any

import tensorflow as tf

from style_transfer.errors import StyleTransferError, named

WARMUP_FILE = os.path.join("assets.extra", "tf_serving_warmup_requests")


class ExportError(StyleTransferError):
    """The SavedModel cannot be written where asked."""


def next_version(model_dir: str) -> int:
    """1 + the highest integer version folder in `model_dir` (1 if none)."""
    if not os.path.isdir(model_dir):
        return 1
    versions = [int(name) for name in os.listdir(model_dir) if re.fullmatch(r"\d+", name)]
    return max(versions, default=0) + 1


def serving_api():
    """tensorflow_serving.apis' model_pb2, predict_pb2, prediction_log_pb2, or a one-line ExportError."""
    try:
        from tensorflow_serving.apis import model_pb2, predict_pb2, prediction_log_pb2
    except ImportError:
        raise ExportError(
            "writing warm-up requests needs tensorflow-serving-api: pip install 'style_transfer[serving]', "
            f"or export with {named('warmup')}=False"
        ) from None
    return model_pb2, predict_pb2, prediction_log_pb2


def input_specs(function) -> dict[str, tf.TensorSpec]:
    """{input name: TensorSpec} of a concrete function (a signature)."""
    return {spec.name: spec for spec in tf.nest.flatten(function.structured_input_signature)}


def warmup_records(
    model_name: str, signatures: Mapping[str, Any], requests: Mapping[str, Mapping[str, Any]]
) -> list[bytes]:
    """Serialized PredictionLog records, one per signature named in `requests` ({signature: {input:
    value}}): each value converted to the dtype of the signature's input of that name, and every
    input of the signature given (ValueError otherwise). Needs tensorflow-serving-api."""
    model_pb2, predict_pb2, prediction_log_pb2 = serving_api()
    records = []
    for signature_name, inputs in requests.items():
        specs = input_specs(signatures[signature_name])
        if set(inputs) != set(specs):
            raise ValueError(f"warm-up inputs {sorted(inputs)} for {signature_name}, whose inputs are {sorted(specs)}")
        request = predict_pb2.PredictRequest(
            model_spec=model_pb2.ModelSpec(name=model_name, signature_name=signature_name),
        )
        for input_name, value in inputs.items():
            request.inputs[input_name].CopyFrom(tf.make_tensor_proto(value, specs[input_name].dtype))
        log = prediction_log_pb2.PredictionLog(predict_log=prediction_log_pb2.PredictLog(request=request))
        records.append(log.SerializeToString())
    return records


def destination(export_dir: str, name: str, version: int | None) -> tuple[str, int, str]:
    """(the model's folder, the version, the version's folder), or an ExportError if it cannot be
    written there: a bad name or version, or a version that exists. Cheap: call it before tracing."""
    if version is not None and version < 0:
        raise ExportError(f"{named('version')} must be a non-negative integer, got {version}")
    if not re.fullmatch(r"[A-Za-z0-9_.-]+", name):
        raise ExportError(f"model {named('name')} {name!r} must be letters, digits, '_', '.' or '-'")
    model_dir = os.path.join(export_dir, name)
    version = next_version(model_dir) if version is None else version
    target = os.path.join(model_dir, str(version))
    if os.path.exists(target):
        raise ExportError(f"{target} already exists; choose another {named('version')} (or none for the next free one)")
    return model_dir, version, target


def write_saved_model(
    module: tf.Module,
    signatures: Mapping[str, Any],
    export_dir: str,
    name: str,
    version: int | None = None,
    *,
    warmup: Mapping[str, Mapping[str, Any]] | None = None,
) -> str:
    """Save `module` with `signatures` ({name: concrete function}) to export_dir/name/version/ and
    return that path (see the module docstring); warmup: the warm-up requests, or None for none."""
    model_dir, version, target = destination(export_dir, name, version)
    if warmup:
        serving_api()  # before minutes of saving, not after
    try:
        os.makedirs(model_dir, exist_ok=True)
        tmp = tempfile.mkdtemp(dir=model_dir, prefix=f".{version}.tmp-")
    except OSError as e:
        raise ExportError(f"cannot write to {model_dir}: {e.strerror or e}") from None
    try:
        tf.saved_model.save(module, tmp, signatures=dict(signatures))
        if warmup:
            os.makedirs(os.path.join(tmp, "assets.extra"))
            with tf.io.TFRecordWriter(os.path.join(tmp, WARMUP_FILE)) as writer:
                for record in warmup_records(name, signatures, warmup):
                    writer.write(record)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o777 & ~umask)  # mkdtemp makes 0700; a server running as another user must read it
        os.rename(tmp, target)
    finally:
        if os.path.exists(tmp):
            shutil.rmtree(tmp)
    return target
