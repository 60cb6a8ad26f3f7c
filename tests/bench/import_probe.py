"""Run `mqcli ARGS` in this process, then print (to stderr, as the last line)
a JSON object saying which broker client libraries it imported.

  python import_probe.py --help
  python import_probe.py rabbit publish --help
"""

from __future__ import annotations

import json
import sys


def main() -> None:
    from mqcli.cli.app import main as mqcli_main

    sys.argv = ["mqcli", *sys.argv[1:]]
    code: object = 0
    try:
        mqcli_main()
    except SystemExit as e:
        code = e.code
    loaded = {
        "kafka": "kafka" in sys.modules,
        "pika": "pika" in sys.modules,
        "confluent_kafka": "confluent_kafka" in sys.modules,
        "exit": code,
    }
    sys.stdout.flush()
    print(json.dumps(loaded), file=sys.stderr)


if __name__ == "__main__":
    main()
