"""Stage 2 of the evaluation: the custom model in use, compared with its base model."""
