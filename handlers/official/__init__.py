"""Handlers for officials: case cards, actions, /inbox."""
