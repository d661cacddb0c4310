"""Start, check and read the LLM judge: one Bedrock evaluation job per compared model's answers (custom,
base, and a serving slot's champion where it has one)."""
