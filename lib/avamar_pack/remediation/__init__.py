"""One module per action, named after it: what each action does, in plain Python.

``diagnose_session_tickets``, ``check_preconditions`` (read-only), ``acquire_node_lock``,
``set_gsan_minserial``, ``write_mcs_serial``, ``restart_mcs``, ``run_test_backup``, ``flush_mcs``,
``record_remediation``, ``release_node_lock``; shared: ``lock_scope`` (the lock around a mutating
step) and ``steps`` (errors -> ``StepFailed``, the node's state read back for the report).

Every function takes an ``AvamarNode`` and validated values, fills the ``result`` dict it is
given as it goes (so a failure still reports what was learned), and raises ``StepFailed``
naming the step and the state left on the node.
"""
