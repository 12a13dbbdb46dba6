"""Import every module that defines tables, so the shared metadata is complete."""

from __future__ import annotations

import importlib
import pkgutil

import kanaal

_CORE_TABLE_MODULES = ("kanaal.core.keys", "kanaal.core.idempotency", "kanaal.core.outbox")


def load_all_tables() -> None:
    """Import the core table modules and every feature's `store*` modules."""
    for name in _CORE_TABLE_MODULES:
        importlib.import_module(name)
    for info in pkgutil.walk_packages(kanaal.__path__, prefix="kanaal."):
        leaf = info.name.rsplit(".", 1)[-1]
        if leaf == "store" or leaf.startswith("store_") or leaf.endswith("_store"):
            importlib.import_module(info.name)
