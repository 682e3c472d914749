"""CLI command modules. Each module here defines ``register(sub, eval_sub)`` and is discovered by
:mod:`guardrails.cli`; heavy imports belong inside the command functions, not at module level."""
