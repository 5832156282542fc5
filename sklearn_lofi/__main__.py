"""``python -m sklearn_lofi``: cross-validate Neural LoFi against its baselines."""

from ._cli import main

if __name__ == "__main__":
    raise SystemExit(main())
