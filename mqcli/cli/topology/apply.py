"""`mqcli apply -f FILE`: make the brokers match a manifest."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from mqcli.cli.context import get_app
from mqcli.cli.options import ProfileOpt
from mqcli.cli.output import StatusFormat, emit, output_option
from mqcli.cli.topology._common import FileOpt, MatchOpt, PruneOpt, Session, read_file, scope_of
from mqcli.core.errors import MqcliError, UsageError

if TYPE_CHECKING:
    from mqcli.core.topology.plan import Change


def apply(
    ctx: typer.Context,
    file: FileOpt,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Show what would change; change nothing.")] = False,
    prune: PruneOpt = False,
    yes: Annotated[
        bool, typer.Option("--yes", "-y", help="Delete (--prune) without asking; needed when there is no terminal.")
    ] = False,
    match: MatchOpt = None,
    output: Annotated[
        StatusFormat,
        output_option(StatusFormat, "auto: each change on stderr as it is made; json: one JSON document on stdout."),
    ] = "auto",
    profile: ProfileOpt = None,
) -> None:
    """Create and change what the manifest says (delete too, with --prune), idempotently.

    Kafka: create topics, add partitions, set and reset topic configs
    (incrementally).  RabbitMQ: declare exchanges and queues, bind, set
    policies.  Changes a broker cannot make in place (fewer partitions, a new
    replication factor, a queue's or exchange's type, flags or arguments)
    are refused before anything changes (exit 1), each with what to do
    instead.  A second apply finds nothing to do.  --prune asks before it
    deletes (exit 2 without a terminal, unless --yes).

    Example: mqcli apply -f topology.yaml --prune --yes
    """
    app = get_app(ctx, profile=profile)
    scope = scope_of(match)
    if prune and not yes and not dry_run and not (app.stdin_isatty and app.stderr_isatty and file != "-"):
        raise UsageError(
            "--prune deletes what the manifest does not name, and there is no terminal to confirm it on",
            hint="pass --yes to delete without asking, or --dry-run to see what it would delete",
        )
    manifest = read_file(app, file)
    from mqcli.core.topology.execute import Brokers, execute
    from mqcli.core.topology.plan import make_plan

    with Session(app, ctx, manifest.rabbit.vhost if manifest.rabbit else None) as session:
        live = session.live(manifest, scope, everything_in_scope=prune)
        plan = make_plan(manifest, live, prune=prune, scope=scope)
        if plan.refusals:
            if output == "json":
                emit(app, output, {**plan.to_dict(), "dry_run": dry_run, "applied": 0})
            for refusal in plan.refusals:
                app.report(refusal.line())
            raise MqcliError(
                f"{len(plan.refusals)} change(s) in {file} cannot be made in place: nothing was applied",
                hint="see the lines above for what to do instead",
            )
        if plan.in_sync:
            if output == "json":
                emit(app, output, {**plan.to_dict(), "dry_run": dry_run, "applied": 0})
            app.note(f"nothing to do: the brokers match {file}")
            return
        if dry_run:
            if output == "json":
                emit(app, output, {**plan.to_dict(), "dry_run": True, "applied": 0})
            for line in plan.lines():
                app.info(line)
            app.note(f"dry run: {plan.summary()}; nothing changed")
            return
        if plan.deletions and not yes:
            for change in plan.deletions:
                app.report(change.line())
            if not typer.confirm(f"mqcli: delete the {len(plan.deletions)} listed above?", default=False, err=True):
                raise MqcliError("not confirmed: nothing was applied")
        applied = 0

        def done(change: Change) -> None:
            nonlocal applied
            applied += 1
            app.info(change.line())

        brokers = Brokers(session.vhost, session.kafka, session.amqp, session.management)
        try:
            execute(plan, brokers, done)
        except MqcliError as e:
            if applied:
                e.message += f" (after {applied} of {len(plan.changes)} changes; apply again to finish)"
            raise
    if output == "json":
        emit(app, output, {**plan.to_dict(), "dry_run": False, "applied": applied})
    app.note(f"applied {file}: {plan.summary(done=True)}")
