"""The retrying release: tries again what could not be deleted yet, until it is gone or a deadline passes."""
