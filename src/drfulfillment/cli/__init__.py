"""The command line (composition root)."""
