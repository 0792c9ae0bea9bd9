"""The bundled sample images (licences in data/README.md): what the CLI stylises when given none,
and what the notebooks start from."""

import os

_DATA = os.path.join(os.path.dirname(os.path.abspath(__file__)), "data")
SAMPLE_CONTENT = os.path.join(_DATA, "chelsea.png")
SAMPLE_STYLE = os.path.join(_DATA, "starry_night.jpg")
SAMPLE_STYLE_2 = os.path.join(_DATA, "great_wave.jpg")  # a second painting, for blends (notebooks)
