"""The daily run: `run.py` reads top to bottom as its seven steps, one module per kind of step."""
