"""Writes the run record and composes the final notification."""
