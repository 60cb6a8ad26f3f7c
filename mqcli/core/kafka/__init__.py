"""Kafka support: engine.py chooses an engine and builds its producers,
consumers and admin clients, typed by the Protocols in contract.py; common.py
holds the engine-neutral types and hooks.py what a consumer adds to an
engine's consume loop (the stop rules are broker-neutral: mqcli.core.stops).
The two engines, kafka_python/ and librdkafka/, are the only packages that
import a Kafka client library."""
