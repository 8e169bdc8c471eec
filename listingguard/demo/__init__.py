"""The bundled demo: a workspace built from the demo catalogue (real Luma product photos and copy).

``listingguard demo`` grows with each capability; today it registers the demo brand's marks,
photos and copy, then checks a few suspicious listing photos and texts made from the catalogue
for copies and disguised marks.
The workspace it builds is an ordinary one, so every other command works in it.
"""

from __future__ import annotations

import shutil
import tempfile
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from listingguard import imaging, store, texting
from listingguard.catalogue import RowResult, import_catalogue
from listingguard.demo import samples
from listingguard.errors import ListingGuardError
from listingguard.workspace import Workspace, open_workspace, template_config

MARKER = ".listingguard-demo"
CATALOGUE_FILES = ("products.csv", "others.csv", "README.md", "LICENSE-OSL-3.0.txt")


@dataclass
class DemoResult:
    directory: Path
    workspace: Workspace
    rows: list[RowResult] = field(default_factory=list)
    image_matches: list[dict[str, Any]] = field(default_factory=list)
    text_matches: list[dict[str, Any]] = field(default_factory=list)

    def summary(self) -> dict[str, Any]:
        db = self.workspace.db
        marks = store.list_assets(db, kind="mark")
        counts = {
            kind: db["assets"].count_where("kind = ? AND retired_at IS NULL", [kind])
            for kind in ("mark", "image", "copy", "logo")
        }
        products = list(
            db.query(
                "SELECT p.sku, p.name, p.list_price, p.currency, "
                "SUM(a.kind = 'image') AS photos, SUM(a.kind = 'copy') AS copy "
                "FROM products p LEFT JOIN assets a ON a.product_id = p.id "
                "GROUP BY p.id ORDER BY p.id"
            )
        )
        refused = [
            {"line": r.line, "item": a.item, "reason": a.reason}
            for r in self.rows
            for a in r.assets
            if a.status == "refused"
        ]
        return {
            "directory": str(self.directory),
            "config": str(self.workspace.config.path),
            "database": str(self.workspace.config.workspace.database),
            "marks": [{"text": m["text"], "aliases": m["aliases"] or []} for m in marks],
            "products": products,
            "counts": counts,
            "refused": refused,
            "image_matches": self.image_matches,
            "text_matches": self.text_matches,
        }


def catalogue_source() -> Path:
    """The bundled catalogue folder inside the installed package."""
    return Path(str(resources.files("listingguard") / "demo" / "catalogue"))


def build(directory: Path | None = None) -> DemoResult:
    """Make (or refresh) a demo workspace in ``directory`` or a new temporary folder."""
    if directory is None:
        directory = Path(tempfile.mkdtemp(prefix="listingguard-demo-"))
    directory = directory.resolve()
    config_path = directory / "config.toml"
    marker = directory / MARKER
    if directory.exists() and any(directory.iterdir()) and not marker.exists():
        raise ListingGuardError(
            f"{directory}: the folder is not empty and is not a demo workspace; give --dir an "
            "empty or new folder (the demo never writes into your own workspace)"
        )
    directory.mkdir(parents=True, exist_ok=True)
    marker.write_text("A workspace made by 'listingguard demo'; it may be rebuilt.\n", "utf-8")
    if not config_path.exists():
        config_path.write_text(template_config(), encoding="utf-8")
    target = directory / "catalogue"
    source = catalogue_source()
    shutil.copytree(source / "images", target / "images", dirs_exist_ok=True)
    for name in CATALOGUE_FILES:
        shutil.copy2(source / name, target / name)
    workspace = open_workspace(config_path, create=True)
    result = DemoResult(directory, workspace)
    config = workspace.config
    with imaging.workers() as executor:
        result.rows = list(
            import_catalogue(
                workspace.db,
                target / "products.csv",
                config.catalogue,
                limits=config.assets,
                executor=executor,
            )
        )
        made = samples.make(target, directory / "listings-sample")
        owned = imaging.OwnedImages(workspace.db)
        found = imaging.match_files(
            workspace.db,
            [str(path) for _, path in made],
            owned,
            imaging.thresholds_from(config),
            limits=config.assets,
            min_score=config.matching.min_score,
            executor=executor,
        )
        for (what, _), matched in zip(made, found, strict=True):
            result.image_matches.append({"what": what, **matched})
    owned_text = texting.owned_text(workspace.db, config)
    for sample in samples.texts(target):
        matched = owned_text.match(
            sample["text"] or "", seller=sample["seller"], price=sample["price"],
            min_score=config.matching.min_score,
        )  # fmt: skip
        result.text_matches.append({"what": sample["what"], **matched})
    return result
