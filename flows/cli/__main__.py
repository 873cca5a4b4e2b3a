"""``python -m flows.cli``: the same as the installed ``citelake`` command (the tests run it so)."""

from flows.cli import main

main()
