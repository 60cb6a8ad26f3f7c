"""`mqcli export`: the live topology as a manifest."""

from __future__ import annotations

from typing import Annotated

import typer

from mqcli.cli.context import get_app
from mqcli.cli.options import ProfileOpt
from mqcli.cli.rabbit._management import VhostOpt
from mqcli.cli.topology._common import MatchOpt, Session, scope_of


def export(
    ctx: typer.Context,
    kafka: Annotated[bool, typer.Option("--kafka", help="Kafka's topics (default: both brokers).")] = False,
    rabbit: Annotated[bool, typer.Option("--rabbit", help="RabbitMQ's vhost (default: both brokers).")] = False,
    match: MatchOpt = None,
    vhost: VhostOpt = None,
    profile: ProfileOpt = None,
) -> None:
    """Write the live topology as a manifest (YAML) on stdout, for `mqcli apply`.

    Left out: Kafka's internal topics (__*), RabbitMQ's default and amq.*
    exchanges, server-named (amq.gen-*) and exclusive queues.  `export |
    mqcli apply -f -` against empty brokers recreates what was exported, and
    a following diff is clean.

    Example: mqcli export --rabbit --match '^orders' > topology.yaml
    """
    app = get_app(ctx, profile=profile)
    scope = scope_of(match)
    both = not kafka and not rabbit
    from mqcli.core.topology.live import read_kafka, read_rabbit
    from mqcli.core.topology.manifest import Manifest, to_yaml
    from mqcli.core.topology.plan import select

    live = Manifest()
    with Session(app, ctx, vhost) as session:
        if kafka or both:
            live.kafka = read_kafka(session.kafka(), scope)
        if rabbit or both:
            live.rabbit = read_rabbit(session.management(), session.vhost)
    app.stdout.write(to_yaml(select(live, scope)).encode("utf-8"))
    app.stdout.flush()
