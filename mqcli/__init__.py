"""mqcli: one command line for Apache Kafka and RabbitMQ."""

__version__ = "0.1.0"
