"""Compensation plans: the plan language and the payout engine."""
