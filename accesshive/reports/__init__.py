"""Reports: drift, orphans and health, from the repo and the latest snapshots."""
