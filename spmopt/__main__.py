"""`python -m spmopt`: the command line."""

from spmopt.cli import app

app(prog_name="spmopt")
