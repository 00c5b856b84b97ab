"""``python -m mixq --version``: the version of the installed package."""
import sys

from . import __version__


def main(argv: list) -> int:
    if argv in (["--version"], ["-V"]):
        print(f"mixq {__version__}")
        return 0
    print("usage: python -m mixq --version   (the mixq command-line tool does the rest)", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
