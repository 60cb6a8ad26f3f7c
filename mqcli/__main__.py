"""`python -m mqcli` runs the same entry point as the `mqcli` script."""

from mqcli.cli.app import main

if __name__ == "__main__":
    main()
