"""`make bench`: mqcli against kcat, Kafka's own tools and RabbitMQ PerfTest (issue 6).

Run with `python -m tests.bench --size small|full`; see tests/bench/__main__.py."""
