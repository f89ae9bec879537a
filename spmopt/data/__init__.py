"""Input data: reading, validating and shaping the tables a scenario names."""
