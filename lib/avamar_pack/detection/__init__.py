"""Detection: follow Avamar logs (and Salt's event bus), fold failures per server, build trigger payloads.

Modules:

* ``follower``    - tail a set of globs by inode, with rotation (rename and copytruncate), partial
  and oversized lines handled; reports byte offsets so positions can be made durable.
* ``positions``   - the durable state (inode + offset per file, folding state) in the st2 datastore.
* ``folding``     - per-server ``once_within`` folding of auth failures, suppression of repeated warnings.
* ``payloads``    - trigger payload builders and the log-line -> configured-server mapping.
* ``engine``      - ties the above to the parsers; ``DetectionEngine.poll_once()`` is one deterministic pass.
* ``salt_events`` - a salt-api ``/events`` (SSE) client with re-login and bounded backoff.
* ``wakeup``      - inotify wake-up that cooperates with eventlet (select() with a timeout).
* ``scan``        - ``scan_file(path)``: the sensor's exact parse path over a whole file, for benchmarks.
"""
