"""`mqcli rabbit ...`: one module per verb, registered here.

Command modules import pika (through `mqcli.core.rabbit`) only inside the
command functions, so `mqcli --help` and kafka commands never load it.  The
verbs are imported and built only when used (see mqcli.cli.lazy).
"""

from collections.abc import Mapping
from typing import ClassVar

import typer

from mqcli.cli.lazy import LazyGroup


class RabbitGroup(LazyGroup):
    lazy_commands: ClassVar[Mapping[str, str]] = {
        "publish": "mqcli.cli.rabbit.publish:publish",
        "consume": "mqcli.cli.rabbit.consume:consume",
        "subscribe": "mqcli.cli.rabbit.subscribe:subscribe",
        "rpc": "mqcli.cli.rabbit.rpc:app",
        "delay": "mqcli.cli.rabbit.delay:app",
        "declare": "mqcli.cli.rabbit.declare:app",
        "queue": "mqcli.cli.rabbit.queue:app",
        # Through the management HTTP API (rabbitmq_management plugin):
        "queues": "mqcli.cli.rabbit.queues:app",
        "exchanges": "mqcli.cli.rabbit.exchanges:app",
        "bindings": "mqcli.cli.rabbit.bindings:app",
        "connections": "mqcli.cli.rabbit.connections:app",
        "consumers": "mqcli.cli.rabbit.consumers:app",
        "overview": "mqcli.cli.rabbit.overview:overview",
        "wait": "mqcli.cli.rabbit.wait:app",
    }


app = typer.Typer(
    cls=RabbitGroup,
    help="RabbitMQ: publish, consume, subscribe, rpc, delay and topology.\n\nExample: mqcli rabbit publish --queue jobs 'hello'",
    no_args_is_help=True,
    rich_markup_mode=None,
)
