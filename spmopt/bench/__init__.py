"""Benchmarks that measure spmopt on the machine it runs on."""
