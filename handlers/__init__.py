"""Capabilities: one module per thing the bot does (queries, booking, requests, staff commands)."""
