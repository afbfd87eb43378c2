"""safe-passage: planning service for humanitarian evacuation corridors."""

__version__ = "0.1.0"
