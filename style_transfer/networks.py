"""Trained networks <-> files: a TransformerNet's weights and what it needs to be rebuilt.

A network file (`.npz`, NumPy's zip of arrays) holds every weight by its path inside the network
("down1/conv/conv/kernel", ...) and a JSON header: the format version, the width multiplier, the
paintings' names (their count is the network's S) and free-form notes (how it was trained).
Written atomically (a temporary file renamed into place): never half-written.
Loading rebuilds the network and checks every weight's name and shape; anything else is a
one-line ModelError.

Pretrained networks ship in the package (data/NAME.npz, trained by benchmarks/train_pretrained.sh;
data/README.md says how each was trained): wherever a path is taken, a bundled network's NAME is
too (`style-transfer --model=starry_wave`), so a fast stylisation needs no training and no download.
"""

from __future__ import annotations

import io
import json
import os
import zipfile
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from style_transfer import images
from style_transfer.errors import StyleTransferError

FORMAT = "style_transfer.network"
VERSION = 1
_HEADER = "__header__"
_DATA = os.path.join(os.path.dirname(os.path.abspath(__file__)), "data")


class ModelError(StyleTransferError):
    """A network file is missing, is not one, or does not match the network it describes."""


def save_network(network, path: str, paintings: Sequence[str], notes: Mapping[str, Any] | None = None) -> None:
    """Write `network` (transformer.TransformerNet) with its paintings' names to `path` (.npz)."""
    from style_transfer import transformer

    if len(paintings) != network.styles:
        raise ModelError(f"{len(paintings)} painting name(s) for a network of {network.styles} painting(s)")
    header = {"format": FORMAT, "version": VERSION, "width": network.width, "paintings": list(paintings)}
    header["notes"] = dict(notes or {})
    arrays = {transformer.weight_name(w): np.asarray(w.numpy()) for w in network.weights}
    arrays[_HEADER] = np.frombuffer(json.dumps(header).encode(), np.uint8)
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)  # type: ignore[arg-type]  # (numpy stubs: allow_pickle among **kwds)
    images.write_atomically(path, buffer.getvalue())


def bundled() -> list[str]:
    """The names of the pretrained networks shipped in the package (data/NAME.npz), sorted."""
    return sorted(name[:-4] for name in os.listdir(_DATA) if name.endswith(".npz"))


def resolve(spec: str) -> str:
    """The network file `spec` names: a path to a file, or a bundled network's name (ModelError if
    neither: the message lists the bundled names)."""
    if os.path.isfile(spec):
        return spec
    names = bundled()
    if spec in names:
        return os.path.join(_DATA, spec + ".npz")
    raise ModelError(f"no network file at {spec} (the bundled networks, by name: {', '.join(names) or 'none'})")


def read_header(path: str) -> dict[str, Any]:
    """The header of the network file at `path` or of the bundled network so named (ModelError if
    it is not one)."""
    return _read(resolve(path))[0]


def _read(path: str) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    try:
        with np.load(path, allow_pickle=False) as data:
            arrays = {name: data[name] for name in data.files}
        header = json.loads(arrays.pop(_HEADER).tobytes().decode())
    except (OSError, ValueError, KeyError, zipfile.BadZipFile, UnicodeDecodeError):
        raise ModelError(f"{path} is not a network file (style_transfer's .npz, from training)") from None
    if header.get("format") != FORMAT:
        raise ModelError(f"{path} is not a network file (style_transfer's .npz, from training)")
    if header.get("version", 0) > VERSION:
        raise ModelError(f"{path} is a network file of version {header['version']}; this package reads {VERSION}")
    return header, arrays


def load_network(path: str, precision: str = "float32"):
    """The network saved at `path`, or the bundled network so named: (transformer.TransformerNet,
    header). precision: its convolutions' ("float32", or "bfloat16" where the machine has it:
    devices.resolved_precision; transformer.build), the weights float32 either way."""
    from style_transfer import transformer

    path = resolve(path)
    header, arrays = _read(path)
    network = transformer.build(float(header["width"]), len(header["paintings"]), precision=precision)
    expected = {transformer.weight_name(w): w for w in network.weights}
    if set(expected) != set(arrays):
        raise ModelError(f"{path}: its weights are not those of a width {header['width']} network")
    for name, weight in expected.items():
        if tuple(weight.shape) != arrays[name].shape:
            raise ModelError(f"{path}: weight {name} is {arrays[name].shape}, expected {tuple(weight.shape)}")
        weight.assign(arrays[name])
    return network, header
