"""Kafka support on top of kafka-python (the only package that imports `kafka`)."""
