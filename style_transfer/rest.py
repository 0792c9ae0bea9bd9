"""Client side of TF Serving's REST API for an exported model: build a request, read a response.

    POST http://HOST:8501/v1/models/NAME:predict   body: request_json(contents, styles)

TF Serving carries inputs and outputs whose names end in `_bytes` as base64 (`{"b64": ...}`). The
row format ("instances") is used: one instance per content/style pair. Plain Python; no TensorFlow.
"""

from __future__ import annotations

import base64
from collections.abc import Sequence


def request_json(contents: Sequence[bytes], styles: Sequence[bytes]) -> dict:
    """Encoded content and style images (pairs) -> the JSON body of a :predict request."""
    if len(contents) != len(styles):
        raise ValueError(f"{len(contents)} content images for {len(styles)} style images")
    return {
        "signature_name": "serving_default",
        "instances": [
            {"content_bytes": {"b64": _b64(content)}, "style_bytes": {"b64": _b64(style)}}
            for content, style in zip(contents, styles, strict=True)
        ],
    }


def decode_request(body: dict) -> dict[str, list[bytes]]:
    """The JSON body of a :predict request -> the inputs TF Serving hands `serving_default`:
    {"content_bytes": [...], "style_bytes": [...]}, the base64 decoded. For trying a request on a
    model loaded in Python (tf.saved_model.load) before serving it."""
    names = ("content_bytes", "style_bytes")
    return {name: [base64.b64decode(instance[name]["b64"]) for instance in body["instances"]] for name in names}


def images_from_response(response: dict) -> list[bytes]:
    """The JSON of a :predict response -> the PNG bytes of each stylised image, in request order.

    With a single output, TF Serving drops its name: {"predictions": [{"b64": ...}, ...]}; a named
    form ({"image_bytes": {"b64": ...}}) is accepted too.
    """
    if "error" in response:
        raise RuntimeError(f"TF Serving answered with an error: {response['error']}")
    images = []
    for prediction in response["predictions"]:
        value = prediction.get("image_bytes", prediction)
        images.append(base64.b64decode(value["b64"]))
    return images


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")
