"""Handlers for admins: /invite (onboarding links) and /officials (the directory)."""
