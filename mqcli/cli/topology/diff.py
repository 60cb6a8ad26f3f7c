"""`mqcli diff -f FILE`: the plan between a manifest and the live brokers."""

from __future__ import annotations

from typing import Annotated

import typer

from mqcli.cli.context import get_app
from mqcli.cli.options import ProfileOpt
from mqcli.cli.output import StatusFormat, emit, output_option
from mqcli.cli.topology._common import FileOpt, MatchOpt, PruneOpt, Session, read_file, scope_of, write_lines


def diff(
    ctx: typer.Context,
    file: FileOpt,
    prune: PruneOpt = False,
    match: MatchOpt = None,
    output: Annotated[
        StatusFormat,
        output_option(
            StatusFormat,
            "auto: one line per change (+ create, ~ change, - delete, ! refused); json: one JSON document.",
        ),
    ] = "auto",
    profile: ProfileOpt = None,
) -> None:
    """Show what `mqcli apply` would change; exit 0 when the brokers match the manifest, 1 when they differ.

    Lines on stdout: `+` to create, `~` to change (old -> new), `-` to delete
    (with --prune), `!` a change the broker cannot make in place (apply refuses
    it), as `git diff --exit-code` for CI drift checks.

    Example: mqcli diff -f topology.yaml --prune -o json
    """
    app = get_app(ctx, profile=profile)
    scope = scope_of(match)
    manifest = read_file(app, file)
    from mqcli.core.topology.plan import make_plan

    with Session(app, ctx, manifest.rabbit.vhost if manifest.rabbit else None) as session:
        live = session.live(manifest, scope, everything_in_scope=prune)
    plan = make_plan(manifest, live, prune=prune, scope=scope)
    if output == "json":
        emit(app, output, plan.to_dict())
    else:
        write_lines(app, plan.lines())
        app.note(f"in sync with {file}" if plan.in_sync else plan.summary())
    if not plan.in_sync:
        raise typer.Exit(1)
