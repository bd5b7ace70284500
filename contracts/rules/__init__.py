"""Procurement rules as data: thresholds, procedures and which regulation part applies."""
