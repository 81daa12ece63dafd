"""GLAM data: rows in, daily histogram series out."""
