"""The librdkafka engine (confluent-kafka, installed with mqcli[fast])."""
