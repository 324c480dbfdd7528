"""`python -m socialdesk` runs the command-line interface."""

from socialdesk.cli import main

main()
