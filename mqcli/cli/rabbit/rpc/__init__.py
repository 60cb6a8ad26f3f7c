"""`mqcli rabbit rpc call|serve`: request/response over a queue."""

import typer

from mqcli.cli.rabbit.rpc import call, serve

app = typer.Typer(
    help="Request/response: call a queue and wait for the answer, or serve one with a command.\n\nExample: mqcli rabbit rpc call rpc.echo 'hello'",
    no_args_is_help=True,
    rich_markup_mode=None,
)
app.command("call")(call.call)
app.command("serve")(serve.serve)
