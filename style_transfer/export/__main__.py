"""python -m style_transfer.export: the style-transfer-export command line."""

from style_transfer.export.cli import entry_point

entry_point()
