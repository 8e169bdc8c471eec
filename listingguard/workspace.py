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
    config = config_mod.load(config_path)
    db = store.open_store(config.workspace.database, create=create)
    sync_config_marks(db, config)
    return Workspace(config, db)


def template_config() -> str:
    """The commented example config.toml that `init` and `demo` write (same as the repo's)."""
    return (resources.files("listingguard") / "templates" / "config.toml").read_text("utf-8")
