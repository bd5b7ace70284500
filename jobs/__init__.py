"""The clock: the scheduler process and its jobs."""
