"""Integrity for auditors: the audit trail pages, impartiality declarations, red flags."""
