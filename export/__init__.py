"""pawlite export stage."""
