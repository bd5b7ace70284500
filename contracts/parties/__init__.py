"""Units, suppliers and categories: the master data contracts point at."""
