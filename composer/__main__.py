"""`python -m composer` is the `partimento` command."""

from composer.cli import run

if __name__ == "__main__":
    run()
