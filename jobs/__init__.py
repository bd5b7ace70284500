"""The clock: the scheduler process, reminder and mail jobs, the outbox, calendar feeds."""
