"""Stage 1 of the evaluation: the job's training and validation loss against the run's bar."""
