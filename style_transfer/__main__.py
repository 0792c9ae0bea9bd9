"""`python -m style_transfer`: the same as the `style-transfer` command."""

from style_transfer.cli import entry_point

if __name__ == "__main__":
    entry_point()
