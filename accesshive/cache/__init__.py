"""The cache layer: speed-ups kept between runs, each wrapping one pure stage function.

- ``store.py``: where entries live (one directory outside the repository, plain data
  only), ``usage`` and ``prune``;
- ``contract.py``: ``Contract``, what each cache states (the function it wraps, key,
  what it covers, why it is safe, how it is cleared);
- one module per cached stage: ``parse.py`` (YAML parse), ``check.py`` (per-identity
  checks), ``render.py`` (account attributes), ``snapshot.py`` (a snapshot file as
  validated), ``fingerprints.py`` (a snapshot file's fingerprints), ``diff.py`` (+
  ``diff_rows.py``: what diff found), ``plans.py`` (the whole plan of exactly the same
  inputs, for ``plan`` without a store).

The stages never import this package; ``pipeline.py`` and the planning operations
compose each stage with its cache. The names are not re-exported here: a cache module
imports the stage it wraps, and importing the package must stay cheap.
"""
