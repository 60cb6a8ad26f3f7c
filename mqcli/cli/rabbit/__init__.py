"""`mqcli rabbit ...`: one module per verb; the group is mqcli.cli.rabbit.group.

Nothing is imported here: the one-shot fast path (mqcli.cli.fast) imports a
verb's module without typer, which the group needs."""
