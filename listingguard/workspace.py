"""A workspace: a config.toml and the database beside it, opened once per command."""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from sqlite_utils import Database

from listingguard import config as config_mod
from listingguard import store
from listingguard.assets import sync_config_marks
from listingguard.config import Config


@dataclass
class Workspace:
    config: Config
    db: Database

    def close(self) -> None:
        self.db.close()


def open_workspace(config_path: Path, *, create: bool = False) -> Workspace:
    """Load the config (errors name key and file), open its database, sync its marks."""
    return workspace_of(config_mod.load(config_path), create=create)


def workspace_of(config: Config, *, create: bool = False) -> Workspace:
    """The workspace of a config already loaded: a long-running process (the scheduler) reads
    its config once and opens the database again in each thread that needs it."""
    db = store.open_store(config.workspace.database, create=create)
    sync_config_marks(db, config)
    return Workspace(config, db)


def template_config() -> str:
    """The commented example config.toml that `init` and `demo` write (same as the repo's)."""
    return (resources.files("listingguard") / "templates" / "config.toml").read_text("utf-8")
