"""CDK constructs and stacks of the Bedrock customization pipeline."""
