"""drfulfillment."""
