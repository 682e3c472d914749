"""Framework adapters, installed as ``guardrails.integrations.<framework>``.

Each module imports its framework lazily and raises ``MissingDependency`` naming the extra.
Adapters translate framework objects to :class:`guardrails.Event` and verdicts back; they hold
no policy logic.
"""
