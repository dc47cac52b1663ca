"""Every simulator behaviour that nothing public confirms ([I] in AVAMAR_FACTS.md), in one place.

Each constant below is a guess about a real Avamar utility node. The parsers of the pack must
never depend on one of these alone; change a value here and the whole simulator follows.
Confirmed ([C]) texts live in :mod:`avamar_sim.texts`.
"""

from __future__ import annotations

# --- exit codes [I] -------------------------------------------------------------------------
#: avmaint exits non-zero on an error; the value is unknown.
AVMAINT_ERROR_EXIT = 1
#: avmaint prints its ERROR lines on stderr (the KB only shows them on the terminal).
AVMAINT_ERRORS_ON_STDERR = True
#: avtar's process exit code for a failed run (the log says 10007, which does not fit a byte).
AVTAR_FAILURE_EXIT = 1
#: mcserver.sh exit code when MCS does not (re)start or is not running (--test).
MCSERVER_FAILURE_EXIT = 1
#: mccli exits with the first line's rc.
MCCLI_EXIT_IS_RC = True
#: avlockbox.sh exit code for an unknown key.
AVLOCKBOX_ERROR_EXIT = 1

# --- MCS [I] --------------------------------------------------------------------------------
#: Seconds `mcserver.sh --restart` keeps MCS down (a real one takes tens of seconds to minutes).
#: 0 is allowed. A node overrides it with the `restart_seconds` knob.
DEFAULT_RESTART_SECONDS = 0.2
#: Lines mcserver.sh prints (the real text is unknown).
MCSERVER_STOP_LINES = ("Stopping Administrator Server ...", "Administrator Server shut down.")
MCSERVER_START_LINES = ("Starting Administrator Server ...", "Administrator Server started.")
MCSERVER_START_FAILED = "Administrator Server failed to start."
MCSERVER_RUNNING = "Administrator Server is running."
MCSERVER_NOT_RUNNING = "Administrator Server is not running."
MCSERVER_FLUSH_DONE = "Administrator Server flush completed."
MCSERVER_VERSION = "mcserver.sh version 19.4.0-124"
#: MCS writes the next serial to sessionticket.srl each time it hands out a ticket, unless the
#: file no longer holds the value MCS last wrote (an operator edited it: MCS leaves it alone, so
#: the KB's "echo -n N > .srl; mcserver.sh --restart" works).
MCS_WRITES_SRL_ON_TICKET = True
#: The .srl holds the NEXT serial MCS hands out (KB: .srl 28451 and GSAN warns serial=28451 used).
SRL_IS_NEXT_SERIAL = True

# --- GSAN [I] -------------------------------------------------------------------------------
#: `avmaint publickey` accepts N only when N > max(minimal serial, highest used serial) + extra.
#: KB: used up to ~28460, 28500 refused, 38000 accepted -> any extra in [40, 9539] fits.
DEFAULT_THRESHOLD_EXTRA = 1000
#: Size of the bounded set of recently used serials GSAN remembers (the max is always kept).
RECENT_USED_LIMIT = 1000
#: A ticket serial at or below the highest used serial counts as used (MCS hands them out in order).
USED_MEANS_AT_OR_BELOW_MAX = True
#: Order GSAN checks a ticket in; the first failing check decides the warning.
TICKET_CHECK_ORDER = ("below_min", "used", "signature")
#: After a checkpoint rollback GSAN's restored keytable no longer matches MCS; what GSAN logs then
#: is unknown, so it logs NO sessionkeytable warning and the backup fails with avtar 5704 only.
ROLLBACK_LOGS_WARNING = False
#: `avmaint publickey` with a key file that is not the mcecroot public key is refused with the
#: same error as a too-small serial (a real GSAN may accept it and fail later with 1426).
WRONG_KEY_ERROR = "ERROR: avmaint: publickey: server_exception(MSG_ERR_INVALID_PARAMETERS)"
#: avmaint publickey with an unreadable key file.
KEYFILE_UNREADABLE = "ERROR: avmaint: publickey: cannot read key file {path}"
#: avmaint with an unknown command.
AVMAINT_UNKNOWN = "ERROR: avmaint: unknown command: {what}"
#: GSAN thread tags in its log lines ([C] shapes, invented numbers).
GSAN_THREAD_1479 = "[srvm-518654#srv:481]"
GSAN_THREAD_1418 = "[srvm-518654#srv:481]"
GSAN_THREAD_1426 = "[srvm-525136#srv:775]"
#: Children of <keytable> are unknown; the simulator prints one so parsers tolerate children.
KEYTABLE_CHILD = '  <publickey serial="{serial}" keytype="ec-secp384r1" fingerprint="{fingerprint}"/>'

# --- maintenance XML [I] (avmaint cpstatus / gcstatus / hfscheckstatus) ----------------------
CPSTATUS_XML = '<cpstatus tag="{tag}" status="{status}"/>'
GCSTATUS_XML = '<gcstatus status="{status}"/>'
HFSCHECKSTATUS_XML = '<hfscheckstatus status="{status}"/>'
MAINT_IDLE = {"cp": "completed", "gc": "idle", "hfscheck": "completed"}
MAINT_RUNNING = {"cp": "processing", "gc": "running", "hfscheck": "running"}

# --- dpnctl [I] ----------------------------------------------------------------------------
#: Real lines are believed to carry this prefix; the [C] part is the text after it.
DPNCTL_PREFIX = "dpnctl: INFO: "
#: dpnctl exits 0 even when a service is down.
DPNCTL_EXIT = 0

# --- mccli [I] -----------------------------------------------------------------------------
#: Activity ids: 16 digits, a fixed prefix and a sequence.
ACTIVITY_ID_BASE = 9154987654320000
ACTIVITY_DOMAIN = "/clients"
ACTIVITY_TYPE_ON_DEMAND = "On-Demand Backup"
#: Error code shown in `activity show` for a failed backup.
ACTIVITY_FAILED_ERROR_CODE = 10007
#: Body printed after `0,22305,...` (the parser's accepted attribute/value shape).
BACKUP_STARTED_MESSAGE = "Client backup dataset initiated."
MCCLI_OK = (0, 23000, "CLI command completed successfully.")
MCCLI_MCS_DOWN = (1, 30999, "Unable to connect to the Administrator Server.")
MCCLI_BAD_CLIENT = (1, 22241, "Client does not exist.")
MCCLI_USAGE = (1, 30998, "Invalid command or option.")
#: Activities kept in the state (older ones are dropped).
ACTIVITY_LIMIT = 500

# --- avtar [I] -----------------------------------------------------------------------------
#: Client log file name: <client>-<activity id>-Unix.log (the KB only shows "some-Unix.log").
CLIENT_LOG_NAME = "{client}-{activity_id}-Unix.log"
#: avtar when MCS cannot hand out a ticket (MCS down).
AVTAR_NO_TICKET_LINE = "avtar Error <10786>: Unable to obtain a session ticket from the Administrator Server"
#: Lines of a successful run between the login and the [C] end lines.
AVTAR_SUCCESS_MIDDLE = (
    'avtar Info <5156>: Backup #{backup_no} label "{label}" timestamp {stamp}',
    "avtar Info <6083>: Backed-up 1.8 MB in 0.03 minutes: 4 GB/hour (12 files)",
    "avtar Warning <6790>: Not sending wrapper log to the server",
)
AVLOCKBOX_UNKNOWN = "avlockbox.sh: unknown key: {key}"

# --- MCS activities beyond backups [I] (issue 14) ---------------------------------------------
#: `Type` column per activity kind. "Scheduled Backup" and "On-Demand Backup" are [C] (the pack's
#: mccli example); the restore and replication names are guesses.
ACTIVITY_TYPES = {"backup": ACTIVITY_TYPE_ON_DEMAND, "restore": "Restore", "replication": "Replication Source"}
#: Bytes a completed simulated backup reports (shown as "1.8 MB", as before).
ACTIVITY_TOTAL_BYTES = 1887437
#: How fast a running (not hung) activity's Progress Bytes grow, bytes per second.
ACTIVITY_PROGRESS_BYTES_PER_S = 65536
#: `New Bytes` of a completed backup and of anything else.
ACTIVITY_NEW_BYTES_DONE = "<0.05%"
ACTIVITY_NEW_BYTES_NONE = "0%"
#: Restarting or stopping MCS interrupts running activities ([C]: Dell's procedures warn about
#: it); what `activity show` then says is unknown: this status and error code.
ACTIVITY_INTERRUPTED_STATUS = "Dropped Session"
ACTIVITY_INTERRUPTED_ERROR_CODE = 10019
#: `mccli activity show --id=N` lists only that activity (the real option set is unknown).
MCCLI_ACTIVITY_ID_OPTION = "id"

# --- MCS flush [I] ---------------------------------------------------------------------------
#: `mcserver.sh --flush` writes MCS's in-memory next serial to the .srl (as before) AND becomes
#: "the latest flush": the serial an MCS restore from backup brings back
#: (`SimNode.restore_mcs_from_flush()`). A scenario's latest flush holds its starting .srl.
#: False: a flush only writes the .srl and is not recorded (MCS's backups would not follow it).
FLUSH_RECORDS_SERIAL = True

# --- a workflow's leftover node lock [I] ---------------------------------------------------------
#: Where the pack keeps its node lock and what is in it: the format of lib/avamar_pack/node/lock.py
#: (PACK_STATE_DIR/remediation.lock/owner, JSON {owner, host, acquired_at}). Repeated here because
#: the simulator must not import the pack; tests/simulator checks the pack's NodeLock reads it.
PACK_LOCK_DIR = "usr/local/avamar/var/st2-avamar/remediation.lock"
PACK_LOCK_OWNER_FILE = "owner"
LEFTOVER_LOCK_HOST = "st2-worker-1"

# --- backups while tickets are refused [I] (issue 13) ---------------------------------------------
#: The KB: backups "fail, or hang with zero progress for hours". Knob `refused_backup` picks
#: which ("fail" default, "hang"). A hung backup's client log stops after the login lines (no
#: 5704: avtar never gets an answer), its activity stays Running with Progress Bytes frozen at 0,
#: and GSAN still logs the session-ticket warning (it did refuse the ticket).
REFUSED_BACKUP_MODES = ("fail", "hang")
#: The simulator's avtar does not block for hours: a hung run returns at once with this code,
#: leaving the activity Running (as MCS would show it).
AVTAR_HUNG_EXIT = 124

# --- GSAN log growth and rotation [I] -------------------------------------------------------------
#: GSAN logs a line for each accepted session login (text invented; it must NOT hold the words
#: the pack's pre-filter looks for, "sessionkeytable"/"minserial").
GSAN_THREAD_SESSION = "[srvm-518654#srv:481]"
GSAN_SESSION_LINE = "<4300> session login accepted client={client} ticket serial={serial}"
#: Background lines (`SimNode.gsan_noise`): housekeeping GSAN prints all day.
GSAN_NOISE_LINES = (
    "[gsan:stripemgr:112]  <4051> stripe flush complete stripes=128 bytes=33554432",
    "[gsan:hfscheck:88]  <4402> hfscheck progress 42% nodes=1",
    "[gsan:gc:301]  <5203> garbage collection pass 1 started",
    "[gsan:net:77]  WARN: <5109> connection from 10.0.0.31:52144 reset by peer",
)
#: gsan.log is rotated by RENAME when it grows past `gsan_log_max_bytes` (knob; 0 = never):
#: gsan.log -> gsan.log.001, .001 -> .002 ..., the KB's `gsan.log.00?` keeps nine.
GSAN_LOG_MAX_BYTES = 0
GSAN_LOG_ROTATED_KEEP = 9
GSAN_LOG_ROTATED_NAME = "gsan.log.{n:03d}"

# --- the simulator's own marker (root guard, security issue item 4) ----------------------------
#: `create` refuses `/`, a non-empty root without SIM_MARKER, and a root whose usr/local/avamar
#: lacks TREE_MARKER (a real Avamar tree). Not [I] about Avamar: about the simulator itself.
SIM_MARKER = ".sim/avamar-sim-node"
TREE_MARKER = "usr/local/avamar/.avamar-sim-tree"
