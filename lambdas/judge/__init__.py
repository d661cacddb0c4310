"""Start, check and read the LLM judge: two Bedrock evaluation jobs over both models' answers."""
