"""Users, roles, login sessions and the admin pages for users."""
