"""Releases what a failed run bought (never a commitment) and stops its job."""
