"""Outputs of a run: tables, map, manifest (formatting only, no maths)."""
