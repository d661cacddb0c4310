"""The built-in reinforcement fine-tuning grader: scores the answers Bedrock samples during an RFT job."""
