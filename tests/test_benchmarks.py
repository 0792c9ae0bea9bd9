"""The benchmark scripts run from a clone and write their reports (tiny sizes, random weights)."""

import subprocess
import sys

from PIL import Image

from tests.conftest import REPO, gradient_image


def test_gallery_writes_a_sheet_and_a_table(tmp_path):
    for folder, name, seed in (("content", "photo.png", 1), ("style", "painting.png", 2)):
        (tmp_path / "samples" / folder).mkdir(parents=True)
        Image.fromarray(gradient_image(40, 48, seed)).save(tmp_path / "samples" / folder / name)
    report = tmp_path / "docs" / "g.md"
    result = subprocess.run(
        [
            sys.executable,
            str(REPO / "benchmarks" / "gallery.py"),
            "--size=48",
            "--steps=4",
            "--vgg16_weights=none",
            f"--samples={tmp_path / 'samples'}",
            f"--output={report}",
        ],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    text = report.read_text()
    row = next(line for line in text.splitlines() if line.startswith("| photo x painting |"))
    assert row.count("|") == 5  # pair, photo, painting, defaults
    with Image.open(tmp_path / "docs" / "images" / "g_defaults_48.jpg") as sheet:
        assert sheet.size == (2 * 256, 2 * 256)  # header row + one photo; photo column + one painting
