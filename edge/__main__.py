"""`python -m edge` is `edge-classify`."""

from edge.cli import main

main()
