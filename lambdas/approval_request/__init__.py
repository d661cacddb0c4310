"""The approval gate: stores the task token and asks a human on the notification topic."""
