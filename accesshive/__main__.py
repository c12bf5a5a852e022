"""Allow ``python -m accesshive``."""

from accesshive.cli import main

main()
