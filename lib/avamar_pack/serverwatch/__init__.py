"""Server-side (agentless) detection: watch the Avamar utility node itself, over its own transport.

No agent on any backup client: for each configured server, ``AvamarServerSensor`` polls

* GSAN's ``gsan.log`` from a saved byte position (``gsan_follow``; bounded reads, rotation and
  truncation recovery, never a whole-file read after the first catch-up), and
* MCS's activity list (``mccli activity show``): backups that failed while GSAN refused session
  tickets (``mcs_failures``) and backups ``Running`` with no progress (``stalls``).

``watch.ServerWatch`` ties them together per server: one transport per server, kept open between
polls; state in one datastore value; dispatch, then save; an unreachable server reported once
per outage. Every command it runs is read-only and built in ``reads`` from constants and
validated values; nothing read from the node is ever interpolated into a command.
"""
