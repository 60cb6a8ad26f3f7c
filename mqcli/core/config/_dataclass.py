"""The config package's classes use mqcli.core._dataclass (built with less work at import)."""

from mqcli.core._dataclass import dataclass

__all__ = ["dataclass"]
