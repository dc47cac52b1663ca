"""One module per action, named after it: what each action does, in plain Python.

``diagnose_session_tickets``, ``check_preconditions`` (read-only), ``acquire_node_lock``,
``set_gsan_minserial``, ``write_mcs_serial``, ``restart_mcs``, ``run_test_backup``, ``flush_mcs``,
``record_remediation``, ``release_node_lock``; shared: ``report`` (the typed result every action
returns, and how a failure carries it), ``steps`` (errors -> ``StepFailed``, the node's state
read back for the report), ``lock_scope`` (the lock around a mutating step) and ``waiting``
(polling the node until an answer is final).

Every function takes an ``AvamarNode`` and validated values and returns its own report (a
dataclass beside it); a failure raises ``StepFailed`` naming the step and the state left on the
node, with the report as far as it got attached (so a failure still reports what was learned).
"""
