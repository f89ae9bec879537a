"""`spmopt batch`: many scenarios end to end, one Dask task each, with a ledger, skip/resume and a comparison.

`runner` plans the batch (loads every scenario, computes its run key, decides what to skip), runs the tasks on
Dask or in this process and keeps the ledger; `compare` reads the finished output folders into one table and
page.
"""
