"""Group `ingestion`: posts, metrics, followers and profile activity from the source, and the inbox of export files."""
