"""Spiders, one per kind of marketplace; they navigate and extract, pipelines decide."""
