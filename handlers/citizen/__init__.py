"""Handlers for citizens in their private chat with the bot."""
