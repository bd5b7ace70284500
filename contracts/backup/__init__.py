"""Backups: `flask backup create DIR` and `flask backup restore FILE`, checked by a manifest
and by the restored audit chain."""
