"""`mqcli rabbit ...`: one module per verb, registered here.

Command modules import pika (through `mqcli.core.rabbit`) only inside the
command functions, so `mqcli --help` and kafka commands never load it.
"""

import typer

from mqcli.cli.rabbit import consume, publish, subscribe
from mqcli.cli.rabbit.declare import app as declare_app
from mqcli.cli.rabbit.delay import app as delay_app
from mqcli.cli.rabbit.queue import app as queue_app
from mqcli.cli.rabbit.rpc import app as rpc_app

app = typer.Typer(
    help="RabbitMQ: publish, consume, subscribe, rpc, delay and topology.\n\nExample: mqcli rabbit publish --queue jobs 'hello'",
    no_args_is_help=True,
    rich_markup_mode=None,
)

app.command("publish")(publish.publish)
app.command("consume")(consume.consume)
app.command("subscribe")(subscribe.subscribe)
app.add_typer(rpc_app, name="rpc")
app.add_typer(delay_app, name="delay")
app.add_typer(declare_app, name="declare")
app.add_typer(queue_app, name="queue")
