# %% [markdown]
# # Territory design on the Georgia demo
#
# Loads the demo scenario, designs territories with and without contiguity, and compares the
# balance and compactness of each alignment. Uses spmopt's public API only.

# %%
from pathlib import Path

import spmopt

ROOT = Path(__file__).resolve().parents[1] if "__file__" in globals() else Path.cwd().parent

# %% [markdown]
# Without contiguity the model only balances and keeps units near their rep.

# %%
loose = spmopt.run_scenario(
    spmopt.load_scenario(
        ROOT / "scenarios" / "demo.yaml",
        [
            "territory.contiguity=false",
            "territory.solver.time_limit=20",
            "simulation=null",
            "coaching=null",
            "alignments={}",
        ],
    )
)
loose.territory.territories[["territory_id", "units", "potential_dev_pct", "workload_dev_pct", "mean_distance_km"]]

# %% [markdown]
# The solve facts travel with the plan: status, objective, bound and gap.

# %%
report = loose.territory.report
print(report.status, round(report.objective), round(report.bound), f"gap {report.gap:.3%}")
print("non-contiguous territories:", int((~loose.territory.territories["contiguous"]).sum()))
