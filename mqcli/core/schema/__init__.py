"""Schema-encoded message values: the Confluent wire format (`wire`), a
Schema Registry client (`registry`), Avro with its JSON mapping (`avro`) and
the per-record codecs the Kafka commands plug in (`codec`).

Imported only by the commands that use a schema format or a registry, so a
plain `consume`/`produce` pays nothing for it (fastavro is imported lazily).
"""
