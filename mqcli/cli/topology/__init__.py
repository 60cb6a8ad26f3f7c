"""`mqcli diff`, `mqcli apply`, `mqcli export`: topology as code (mqcli.core.topology
has the manifest, the live state, the plan and its execution)."""
