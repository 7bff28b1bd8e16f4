"""pawlite edge stage."""
