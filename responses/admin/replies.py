"""Replies queues (placeholder)."""
