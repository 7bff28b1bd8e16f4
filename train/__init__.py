"""pawlite train stage."""
