"""Solver access shared by every optimisation model (territory, quota, coaching)."""
