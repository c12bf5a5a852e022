"""The expand stage: from the loaded ``Config`` and a date to the ``DesiredState`` (every
account, grant and credential each identity must have on each source).

- ``desired``: ``expand`` and the desired-state types (``DesiredAccount``, ...)
- ``assignment``: which roles and access profiles each identity gets (``assign``,
  ``members_where`` rules, the sources a lifecycle flow implies)
- ``accounts``: an account's attributes from its source's ``create``/``sync`` templates
  (``render_account``), coerced to the source's schema
- ``templates``: rendering one template (``render``, ``renderer``), always in the sandbox;
  ``fast_templates`` (the fast path for variable-only templates, no jinja),
  ``compiling`` (the one jinja environment, ``compile_template``, the errors) and
  ``folding`` (the ``ascii`` and ``slug`` filters) are its parts
- ``sandbox``: the jinja sandbox (``Sandbox``), made of ``limits`` (the time and size
  limits, measuring), ``size_checks`` (operators and text methods, checked before they
  run), ``bounded_filters`` (the built-in filters, bounded) and ``rewrite`` (the parsed
  template rewritten to check what jinja's own code would not)
- ``values``: attribute types and coercion (``coerce``), shared with validation

Not to be confused with ``render/``, which renders plans and reports for people.

Why nothing is imported here: configuration validation uses ``templates`` and
``values`` while ``desired`` needs the loaded configuration; importing the package must
not pull one into the other.
"""
