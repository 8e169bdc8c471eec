"""Named errors of listingguard: the command line turns each into a one-line message and an exit code."""

from __future__ import annotations


class ListingGuardError(Exception):
    """An error the user can fix; its message says what was wrong and what is allowed."""

    exit_code = 2


class ConfigError(ListingGuardError):
    """config.toml cannot be used; each problem names the file, the key path and what was expected."""

    def __init__(self, file: str, problems: list[str]) -> None:
        self.file = file
        self.problems = problems
        super().__init__("\n".join(f"{file}: {p}" for p in problems))


class StoreError(ListingGuardError):
    """The database cannot be opened or used (not a listingguard database, newer schema, locked)."""


class NotFound(ListingGuardError):
    """Something named on the command line does not exist in the store."""
