"""Stacks compose constructs and wire them together; they define nothing else."""
