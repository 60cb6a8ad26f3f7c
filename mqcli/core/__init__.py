"""The core: config, message model, readers, writers and broker clients.

Nothing under this package imports typer or rich, so it can be used (and
tested) as a plain library.  Broker client libraries are imported only by the
modules that need them (`mqcli.core.kafka`, `mqcli.core.rabbit`).
"""
