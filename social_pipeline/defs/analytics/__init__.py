"""Group `analytics`: post snapshots and performance (the seed's formulas) and the weekly user tables."""
