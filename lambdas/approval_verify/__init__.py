"""Check an approval answer against the decision of record before the workflow acts on it."""
