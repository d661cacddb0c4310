"""Start a run as an STS-verified caller and record its starter (function URL)."""
