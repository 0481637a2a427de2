"""Group `ops`: the BI copy and run-failure records."""
