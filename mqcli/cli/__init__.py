"""The thin CLI layer: parses options, calls the core, renders results."""
