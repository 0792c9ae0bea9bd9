"""Client side of TF Serving's REST API: build a :predict request, read its response.

    POST http://HOST:8501/v1/models/NAME:predict   body: request_json({"content_bytes": [...], ...})
    (a trained network's export: network_request_json([photo bytes, ...], blend_weights))

Any signature: the row format ("instances"), one instance per row of the inputs given; TF Serving
carries inputs and outputs whose names end in `_bytes` as base64 (`{"b64": ...}`), and the other
values as they are. Plain Python; no TensorFlow.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping, Sequence
from typing import Any


def request_json(inputs: Mapping[str, Sequence[Any]], signature_name: str = "serving_default") -> dict:
    """{input name: one value per instance} -> the JSON body of a :predict request; e.g. for the
    optimisation's export, {"content_bytes": [photo bytes], "style_bytes": [painting bytes]}."""
    lengths = {name: len(values) for name, values in inputs.items()}
    if len(set(lengths.values())) > 1:
        raise ValueError(f"inputs of different lengths: {lengths}")
    count = next(iter(lengths.values()), 0)
    return {
        "signature_name": signature_name,
        "instances": [{name: _encode(name, values[i]) for name, values in inputs.items()} for i in range(count)],
    }


def network_request_json(photos: Sequence[bytes], blend_weights: Sequence[Sequence[float]] | None = None) -> dict:
    """The :predict body for an exported network (export/network.py): one photo per instance and,
    for a network of several paintings, its blend weights (one row per photo, sent as floats; a
    single row is used for every photo)."""
    inputs: dict[str, Sequence[Any]] = {"image_bytes": list(photos)}
    if blend_weights is not None:
        rows = [[float(w) for w in row] for row in blend_weights]
        inputs["blend_weights"] = rows * len(photos) if len(rows) == 1 else rows
    return request_json(inputs)


def decode_request(body: dict) -> dict[str, list[Any]]:
    """The JSON body of a :predict request -> the inputs TF Serving hands the signature, {input name:
    [one value per instance]}, base64 decoded: for trying a request on a model loaded in Python
    (tf.saved_model.load) before serving it."""
    names = list(body["instances"][0]) if body["instances"] else []
    return {name: [_decode(instance[name]) for instance in body["instances"]] for name in names}


def images_from_response(response: dict, output: str = "image_bytes") -> list[bytes]:
    """The JSON of a :predict response -> the bytes of each instance's `output`, in request order.

    With a single output, TF Serving drops its name: {"predictions": [{"b64": ...}, ...]}; a named
    form ({"image_bytes": {"b64": ...}}) is accepted too.
    """
    if "error" in response:
        raise RuntimeError(f"TF Serving answered with an error: {response['error']}")
    return [_decode(prediction.get(output, prediction)) for prediction in response["predictions"]]


def _encode(name: str, value: Any) -> Any:
    return {"b64": base64.b64encode(value).decode("ascii")} if name.endswith("_bytes") else value


def _decode(value: Any) -> Any:
    return base64.b64decode(value["b64"]) if isinstance(value, dict) and set(value) == {"b64"} else value
