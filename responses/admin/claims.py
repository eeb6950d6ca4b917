"""Claims queue (placeholder)."""
