"""Detection: from a byte in a log (or an event on Salt's bus) to a trigger, in one direction.

Modules, lowest first (each imports only those above it in this list):

* ``positions``    - the durable state (positions, folding, suppression) in ONE datastore value.
* ``sources/``     - where lines come from; they yield ``Line``/``Block``/``Stream*``/``Note`` items and
  never call the engine: ``follower`` (which inodes: by device and inode, across rotations),
  ``reader`` (their complete lines, in big blocks), ``files`` (discovery, restarts, copytruncate
  recovery), ``salt`` (salt-api events, trusted minions only), ``salt_api`` (the SSE client).
* ``cursor``       - per stream: what is accounted for and counted; the exactly-once argument.
* ``servers``      - which configured server a run or a warning belongs to; which globs to follow.
* ``payloads``     - trigger names and payload builders; cleaning of log text.
* ``folding``      - per-server ``once_within`` folding of failures, suppression of repeated warnings.
* ``dispatching``  - dispatch first, then save: the base of both sensors' pipelines.
* ``catchup``      - the block path: which lines of a block may be passed over without parsing, why
  that is exact, and ``BlockWalker``, which applies it.
* ``engine``       - the loop: pull -> runs (``parsing.avtar_runs``) -> fold -> dispatch -> save.
* ``wakeup``       - inotify wake-up that cooperates with eventlet (select() with a timeout).
"""
