"""The bot process: app assembly, channels, routing, inbox/outbox, scheduler and CLI."""
