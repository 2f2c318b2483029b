"""``python -m synthstruct``."""

from synthstruct.cli import main

main()
