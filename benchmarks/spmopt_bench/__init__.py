"""Benchmarks that measure spmopt on the machine it runs on.

This package lives in the source checkout (`benchmarks/spmopt_bench/`), not in the installed product: it reads
the checkout's instances, scenarios and model files and writes its results beside them (see `paths`).
"""
