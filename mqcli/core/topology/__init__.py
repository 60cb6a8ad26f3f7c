"""Topology as code: a manifest of Kafka topics and RabbitMQ exchanges, queues,
bindings and policies (`manifest.py`), the live state read from the brokers
(`live.py`), the plan between the two (`plan.py`, pure) and carrying it out
(`execute.py`).  `mqcli diff`, `apply` and `export` (mqcli/cli/topology.py)
are built from these.
"""
