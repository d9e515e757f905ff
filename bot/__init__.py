"""Tiếng Dân: the application (configuration, start-up, domain models and services)."""
