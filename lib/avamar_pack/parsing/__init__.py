"""Parsers for what Avamar prints and writes: logs, command output, small files.

Every parser here is pure (text in, typed value out), bounded (input size limits, linear-time
regular expressions) and raises only :class:`avamar_pack.errors.ParseError` on malformed input.
Facts marked [C] in the docstrings were seen verbatim in a public source; [I] are inferred.

Modules: ``avtar`` (client logs), ``gsan`` (GSAN logs), ``keytable`` (``avmaint cat
/sysinfo/security/keytable``), ``srl`` (MCS ``sessionticket.srl``), ``avmaint`` (error lines),
``dpnctl`` (``dpnctl status``), ``maintenance`` (``avmaint cpstatus|gcstatus|hfscheckstatus``),
``mccli`` (``mccli`` responses and ``mccli activity show``).
"""
