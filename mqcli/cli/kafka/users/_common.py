"""Options shared by the `kafka users` verbs."""

from __future__ import annotations

from typing import Annotated, Optional

import typer

MechanismOpt = Annotated[
    Optional[list[str]],
    typer.Option(
        "--mechanism",
        "-m",
        metavar="SCRAM-SHA-256|SCRAM-SHA-512",
        help="SCRAM mechanism (repeatable; default: both).",
        show_default=False,
    ),
]


def mechanisms(given: list[str] | None) -> list[str]:
    """--mechanism values as Kafka's names, each once; both when none is given."""
    from mqcli.core.kafka.acls import SCRAM_MECHANISMS, mechanism_name

    if not given:
        return list(SCRAM_MECHANISMS)
    return list(dict.fromkeys(mechanism_name(m) for m in given))
