"""Plumbing every handler shares: JSON logs, cached clients, S3 JSON documents, environment."""
