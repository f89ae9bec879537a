"""Quota setting: fair shares, bounded allocation (MILP), attainment calibration and period split."""
