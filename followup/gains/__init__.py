"""Documented gains (gevinstrealisering): gain plans, realised entries and reports."""
