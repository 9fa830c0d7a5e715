"""Run the command line interface: ``python -m feedsvc``."""

from feedsvc.cli import main

main()
