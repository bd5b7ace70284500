"""The JSON API at /api/v1 and the per-user tokens that open it (managed on /profile)."""
