"""Contracts in and out of the register: spreadsheet exports (and later imports, OCDS)."""
