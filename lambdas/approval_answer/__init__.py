"""Answer a pending approval as an IAM-verified caller (function URL)."""
