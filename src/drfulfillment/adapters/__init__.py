"""Adapters (I/O): imported by path, never by the top-level package."""
