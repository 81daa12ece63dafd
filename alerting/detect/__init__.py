"""Change detection on daily histogram series."""
