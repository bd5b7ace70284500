"""Contracts with their options and amendments: the register itself."""
