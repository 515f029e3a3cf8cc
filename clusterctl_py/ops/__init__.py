"""Running the stacks: what to run in which order (plan), how (engine), and what the user sees (progress)."""
