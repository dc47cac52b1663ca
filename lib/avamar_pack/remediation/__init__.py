"""One module per action: what each remediation step does, in plain Python.

Every function takes an ``AvamarNode`` and validated values, fills the ``result`` dict it is
given as it goes (so a failure still reports what was learned), and raises ``StepFailed``
naming the step and the state left on the node.
"""
