"""Pure domain logic: no Dagster imports here, so every formula is testable on its own."""
