"""The kafka-python engine: pure Python, always installed."""
