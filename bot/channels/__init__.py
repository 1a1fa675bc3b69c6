"""Channels: each turns a wire format into `Message`s and delivers `Outgoing`s (see core/message.py)."""
