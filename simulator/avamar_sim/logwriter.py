"""Write realistic avtar client logs and GSAN logs at volume, for the benchmarks.

Each avtar run is rendered from one pre-built template (a ``%`` format of the whole run), and
output goes through a large buffer, so a 1 GiB file takes seconds. Runs rotate over many
clients and several servers; a configurable share of them fail with the KB's 5704 sequence.
The returned :class:`LogStats` says how many failures were written per server, which is what a
benchmark compares the pack's detection against.
"""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass, field
from typing import Dict, Optional, Sequence

from . import inferred, texts

DEFAULT_SERVERS = ("avamar-a.example.com", "avamar-b.example.com", "avamar-c.example.com")
_BUFFER = 8 << 20


@dataclass
class LogStats:
    path: str
    bytes_written: int = 0
    runs: int = 0
    lines: int = 0
    #: avtar: failed runs (one FATAL 5704 each) per server name.
    failures_by_server: Dict[str, int] = field(default_factory=dict)
    #: GSAN: sessionkeytable warnings per code (1479, 1418, 1426).
    warnings_by_code: Dict[int, int] = field(default_factory=dict)


def _run_template(lines: Sequence[str]) -> str:
    """Turn a run's lines into one %-template: %(ts)s the stamp, other fields by name."""
    out = []
    for line in lines:
        escaped = line.replace("%", "%%")
        for name in ("log_path", "server", "ip", "backup_no", "label", "stamp"):
            escaped = escaped.replace("{" + name + "}", f"%({name})s")
        out.append("%(ts)s " + escaped + "\n")
    return "".join(out)


_LOGIN = list(texts.AVTAR_LOGIN_LINES)
_FAIL_TEMPLATE = _run_template(_LOGIN + list(texts.AVTAR_AUTH_FAIL_LINES))
_OK_TEMPLATE = (
    _run_template(_LOGIN + list(inferred.AVTAR_SUCCESS_MIDDLE) + [texts.AVTAR_SUCCESS_LINE])
    + texts.AVTAR_END_LINE.replace("{stamp}", "%(ts)s")
    + "\n"
)
_INTERNAL = "%(its)s [avtar]  <1291> FIPS mode enabled\n"
# The KB's pasted shape: a failure's lines run together on one physical line.
_FAIL_JOINED = _FAIL_TEMPLATE.replace("\n", " ").rstrip() + "\n"


def write_avtar_log(
    path: str,
    *,
    target_bytes: int,
    failure_share: float = 0.01,
    clients: int = 1000,
    servers: Sequence[str] = DEFAULT_SERVERS,
    seed: int = 0,
    joined_share: float = 0.0,
    start: Optional[dt.datetime] = None,
) -> LogStats:
    """Append avtar runs to `path` until it has at least `target_bytes` of new text.

    `failure_share` of the runs fail (5704); `joined_share` of those failures are written the way
    the KB pastes them (all on one line). Client i talks to servers[i % len(servers)].
    """
    rng = random.Random(seed)
    stats = LogStats(path=path, failures_by_server={s: 0 for s in servers})
    when = start or dt.datetime(2019, 12, 31, 7, 0, 0)
    ips = {s: f"10.0.{i // 250}.{i % 250 + 1}" for i, s in enumerate(servers)}
    with open(path, "a", encoding="utf-8", buffering=_BUFFER) as handle:
        while stats.bytes_written < target_bytes:
            when += dt.timedelta(seconds=rng.randint(1, 30))
            client_no = rng.randrange(clients)
            server = servers[client_no % len(servers)]
            client = f"client{client_no:05d}"
            ts = when.strftime("%Y-%m-%d %H:%M:%S")
            values = {
                "ts": ts,
                "server": server,
                "ip": ips[server],
                "stamp": ts,
                "backup_no": stats.runs + 1,
                "label": f"{client}-{stats.runs + 1}",
                "log_path": f"/usr/local/avamar/var/clientlogs/{client}-Unix.log",
                "its": when.strftime("%Y/%m/%d-%H:%M:%S.") + f"{rng.randrange(100000):05d}",
            }
            if rng.random() < failure_share:
                template = _FAIL_JOINED if rng.random() < joined_share else _FAIL_TEMPLATE
                stats.failures_by_server[server] += 1
            else:
                template = _OK_TEMPLATE
            text = _INTERNAL % values + template % values
            handle.write(text)
            stats.bytes_written += len(text)
            stats.lines += text.count("\n")
            stats.runs += 1
    return stats


_GSAN_NOISE = (
    ("[srvm-%(n)d#srv:112]", "<0805> checkpoint cp.%(day)s0700 completed"),
    ("[gcsrvm-%(n)d#srv:220]", "<4202> garbage collection pass complete, %(n)d chunks removed"),
    ("[srvm-%(n)d#srv:481]", "<1060> session login client=/clients/client%(c)05d"),
    ("[licensevalidator:177]", "WARN: <0157> license expires in 90 days"),
    ("[hfscheck-%(n)d]", "ERROR: <5050> hfscheck stripe retry on 0.%(c)d"),
)


def write_gsan_log(
    path: str, *, target_bytes: int, warning_share: float = 0.01, seed: int = 0, start: Optional[dt.datetime] = None
) -> LogStats:
    """Append GSAN lines to `path`; `warning_share` of them are sessionkeytable warnings."""
    rng = random.Random(seed)
    stats = LogStats(path=path, warnings_by_code={1479: 0, 1418: 0, 1426: 0})
    when = start or dt.datetime(2019, 12, 31, 7, 0, 0)
    with open(path, "a", encoding="utf-8", buffering=_BUFFER) as handle:
        while stats.bytes_written < target_bytes:
            when += dt.timedelta(microseconds=rng.randrange(1, 2_000_000))
            prefix = when.strftime("%Y/%m/%d-%H:%M:%S.") + f"{when.microsecond // 10:05d} {{0.1}} "
            if rng.random() < warning_share:
                serial = rng.randrange(20000, 40000)
                code = rng.choice((1479, 1418, 1426))
                if code == 1479:
                    thread = inferred.GSAN_THREAD_1479
                    text = texts.GSAN_1479.format(serial=serial, minserial=serial + rng.randrange(1, 9000))
                elif code == 1418:
                    thread, text = inferred.GSAN_THREAD_1418, texts.GSAN_1418.format(serial=serial)
                else:
                    thread, text = inferred.GSAN_THREAD_1426, texts.GSAN_1426
                stats.warnings_by_code[code] += 1
            else:
                thread, text = rng.choice(_GSAN_NOISE)
                values = {"n": rng.randrange(100000, 999999), "c": rng.randrange(1000), "day": when.strftime("%Y%m%d")}
                thread, text = thread % values, text % values
            line = f"{prefix}{thread}  {text}\n"
            handle.write(line)
            stats.bytes_written += len(line)
            stats.lines += 1
    return stats
