"""Preflight step of the workflow: validates the run spec and its S3 datasets before any spend."""
