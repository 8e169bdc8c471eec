"""Takedown: platform definitions, notice drafting and validation, evidence packs, case tracking."""
