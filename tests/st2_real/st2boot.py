"""StackStorm v3.9.0's own services, booted in this test process the way st2's unit tests boot them.

What is st2's code and what stands in for the rest of an install:

* st2's config is ``st2tests.config.parse_args()`` (st2's own test config) with the content paths
  pointed at a copy of this pack (a dir named ``avamar`` inside a packs base path, as
  /opt/stackstorm/packs is) and st2's bundled packs (``src/contrib``: core, chatops);
* the database is mongoengine on an in-memory ``mongomock.MongoClient`` instead of MongoDB;
* the message bus: every publish is recorded (:class:`Bus`), and the LiveAction and
  WorkflowExecution publishers deliver in-process through ``st2tests.mocks``' publishers, which call
  st2's scheduler, worker and workflow engine directly, exactly as st2's orquesta-runner tests do;
* registration is st2's registrars in ``st2-register-content --register-all`` order.

No st2 file is changed. :func:`boot` runs once per process; :class:`St2` is what tests get.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import sys
import tempfile
from typing import Any, Callable, Dict, List, Mapping, Optional, Tuple

import yaml

PACK = "avamar"
REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SYSTEM_PACKS = ("core", "chatops")
# What a pack copy leaves out: tools and caches, nothing StackStorm reads.
_NOT_IN_PACK = (".git", ".venv", "__pycache__", ".pytest_cache", ".ruff_cache", "*.pyc")


def st2_ref() -> str:
    """The st2 reference tree (``ST2_REF``, default ``~/st2-reference``)."""
    return os.path.abspath(os.path.expanduser(os.environ.get("ST2_REF") or "~/st2-reference"))


def pack_source() -> str:
    """The pack tree st2 gets a copy of: this repository, or ``AVAMAR_ST2_PACK`` (another checkout)."""
    return os.path.abspath(os.environ.get("AVAMAR_ST2_PACK") or REPO_ROOT)


def venv_cache() -> str:
    """Where st2-built pack virtualenvs are kept between runs (built by st2's own code)."""
    default = os.path.join(os.path.expanduser("~"), ".cache", "avamar-st2-real", "virtualenvs")
    return os.environ.get("AVAMAR_ST2_VENV_CACHE") or default


class Bus:
    """The st2 message bus in one process: every publish recorded, actions delivered in-process."""

    def __init__(self) -> None:
        self.messages: List[Tuple[str, str, Any]] = []

    def install(self) -> None:
        from st2common.transport import liveaction as liveaction_transport
        from st2common.transport import publishers
        from st2common.transport import workflow as workflow_transport
        from st2tests.mocks import liveaction as mock_liveaction
        from st2tests.mocks import workflow as mock_workflow

        messages = self.messages

        def publish(_self: Any, payload: Any, exchange: Any, routing_key: str = "", compression: Any = None) -> None:
            messages.append((getattr(exchange, "name", str(exchange)), routing_key, payload))

        publishers.PoolPublisher.publish = publish
        lv = mock_liveaction.MockLiveActionPublisher
        wf = mock_workflow.MockWorkflowExecutionPublisher
        liveaction_transport.LiveActionPublisher.publish_create = lambda _s, p: lv.publish_create(p)
        liveaction_transport.LiveActionPublisher.publish_state = lambda _s, p, s: lv.publish_state(p, s)
        workflow_transport.WorkflowExecutionPublisher.publish_create = lambda _s, p: wf.publish_create(p)
        workflow_transport.WorkflowExecutionPublisher.publish_state = lambda _s, p, s: wf.publish_state(p, s)

    def announcements(self, since: int = 0) -> List[Dict[str, Any]]:
        """Payloads st2's announcement runner published (what chatops.post_message sends to chat)."""
        return [p for (x, _rk, p) in self.messages[since:] if x == "st2.announcement" and isinstance(p, dict)]


class St2:
    """A booted st2: the pack copy, /opt/stackstorm stand-in, the bus, registration problems."""

    def __init__(self, pack_dir: str, base_path: str, bus: Bus) -> None:
        self.pack_dir = pack_dir
        self.base_path = base_path
        self.bus = bus
        self.registration_errors: List[str] = []
        self.api_url: Optional[str] = None

    # -- the pack config (/opt/stackstorm/configs/avamar.yaml), loaded by st2's registrar --------
    def use_config(self, values: Optional[Mapping[str, Any]]) -> None:
        """Register ``values`` as the pack config (None: no config at all), validated like st2."""
        from st2common.bootstrap.configsregistrar import ConfigsRegistrar
        from st2common.persistence.pack import Config

        path = os.path.join(self.base_path, "configs", f"{PACK}.yaml")
        for old in Config.query(pack=PACK):
            old.delete()
        if values is None:
            if os.path.exists(path):
                os.remove(path)
            return
        with open(path, "w", encoding="utf-8") as fh:
            yaml.safe_dump(dict(values), fh, sort_keys=False)
        registrar = ConfigsRegistrar(use_pack_cache=False, fail_on_failure=True, validate_configs=True)
        registrar.register_from_pack(self.pack_dir)

    def common_libs(self, enabled: bool) -> None:
        """st2.conf ``[packs] enable_common_libs`` (st2's default: off)."""
        from oslo_config import cfg

        cfg.CONF.set_override(name="enable_common_libs", override=bool(enabled), group="packs")

    def forget_executions(self) -> None:
        """Drop every execution, workflow, Inquiry and token: each test starts from none."""
        from st2common.models.db.auth import TokenDB
        from st2common.models.db.execution import ActionExecutionDB, ActionExecutionOutputDB
        from st2common.models.db.liveaction import LiveActionDB
        from st2common.models.db.trigger import TriggerInstanceDB
        from st2common.models.db.workflow import TaskExecutionDB, WorkflowExecutionDB

        for model in (
            ActionExecutionDB,
            ActionExecutionOutputDB,
            LiveActionDB,
            WorkflowExecutionDB,
            TaskExecutionDB,
            TriggerInstanceDB,
            TokenDB,
        ):
            model.drop_collection()
        del self.bus.messages[:]

    def ensure_pack_virtualenv(self) -> str:
        """The pack virtualenv st2 runs python actions in, built once by st2's own code."""
        return _ensure_pack_virtualenv(self.pack_dir, self.base_path)


_BOOTED: Optional[St2] = None


def boot(workdir: Optional[str] = None) -> St2:
    """Boot st2 once for this process: config, mongomock, the bus, runners and the pack."""
    global _BOOTED
    if _BOOTED is not None:
        return _BOOTED
    workdir = workdir or tempfile.mkdtemp(prefix="avamar-st2-real-")
    pack_dir = os.path.join(workdir, "packs", PACK)
    shutil.copytree(pack_source(), pack_dir, ignore=shutil.ignore_patterns(*_NOT_IN_PACK))
    base_path = os.path.join(workdir, "opt-stackstorm")
    os.makedirs(os.path.join(base_path, "configs"))
    # st2's python runner hands this process's argv to its action wrapper (--parent-args), which
    # gives them to oslo.config: pytest's arguments would make every action exit 2.
    del sys.argv[1:]
    _configure(os.path.dirname(pack_dir), base_path)
    bus = Bus()
    bus.install()
    _connect_mongomock()
    st2 = St2(pack_dir, base_path, bus)
    _register_everything(st2)
    _BOOTED = st2
    return st2


def _configure(packs_base_path: str, base_path: str) -> None:
    import st2tests.config as tests_config
    from oslo_config import cfg

    tests_config.parse_args()
    conf = cfg.CONF
    conf.set_override(
        name="system_packs_base_path", override=os.path.join(st2_ref(), "src", "contrib"), group="content"
    )
    conf.set_override(name="packs_base_paths", override=packs_base_path, group="content")
    conf.set_override(name="base_path", override=base_path, group="system")
    # st2.conf defaults of a real install (st2tests' config turns these on for st2's own tests)
    conf.set_override(name="validate_output_schema", override=False, group="system")
    conf.set_override(name="enable_common_libs", override=False, group="packs")
    # the python runner builds the pack virtualenv from this interpreter (st2's python)
    conf.set_override(name="python_binary", override=sys.executable, group="actionrunner")
    conf.set_override(
        name="virtualenv_binary",
        override=os.path.join(os.path.dirname(sys.executable), "virtualenv"),
        group="actionrunner",
    )


def _connect_mongomock() -> None:
    import mongoengine
    import mongomock

    # st2-register-content imports every exchange module; persistence classes rely on it
    import st2common.transport.bootstrap_utils  # noqa: F401
    from oslo_config import cfg

    mongoengine.connection.disconnect_all()
    mongoengine.connect(
        db=cfg.CONF.database.db_name,
        host="mongodb://localhost",
        mongo_client_class=mongomock.MongoClient,
        uuidRepresentation="pythonLegacy",
        tz_aware=True,
    )


def _register_everything(st2: St2) -> None:
    import st2common
    from st2common.bootstrap import (
        actionsregistrar,
        aliasesregistrar,
        policiesregistrar,
        rulesregistrar,
        ruletypesregistrar,
        runnersregistrar,
        sensorsregistrar,
        triggersregistrar,
    )
    from st2common.triggers import register_internal_trigger_types

    runnersregistrar.register_runners(experimental=False, fail_on_failure=True)
    ruletypesregistrar.register_rule_types()
    policiesregistrar.register_policy_types(st2common)
    register_internal_trigger_types()

    kinds: List[Tuple[str, Callable[[str, bool], Any]]] = [
        ("triggers", lambda d, f: triggersregistrar.register_triggers(pack_dir=d, fail_on_failure=f)),
        ("sensors", lambda d, f: sensorsregistrar.register_sensors(pack_dir=d, fail_on_failure=f)),
        (
            "actions",
            lambda d, f: actionsregistrar.register_actions(pack_dir=d, fail_on_failure=f, use_runners_cache=True),
        ),
        ("rules", lambda d, f: rulesregistrar.register_rules(pack_dir=d, fail_on_failure=f)),
        ("aliases", lambda d, f: aliasesregistrar.register_aliases(pack_dir=d, fail_on_failure=f)),
        ("policies", lambda d, f: policiesregistrar.register_policies(pack_dir=d, fail_on_failure=f)),
    ]
    system_dir = os.path.join(st2_ref(), "src", "contrib")
    for pack_dir in [os.path.join(system_dir, name) for name in SYSTEM_PACKS] + [st2.pack_dir]:
        for kind, register in kinds:
            try:
                register(pack_dir, True)
            except Exception as exc:  # noqa: BLE001 - st2 refused a file: name it, register the rest
                st2.registration_errors.append(f"{os.path.basename(pack_dir)} {kind}: {type(exc).__name__}: {exc}")
                register(pack_dir, False)


def _ensure_pack_virtualenv(pack_dir: str, base_path: str) -> str:
    """<base>/virtualenvs -> a cache; st2's setup_pack_virtualenv builds the pack's venv there once,
    and chatops' (its post_result workflow formats alias results in chat with a python action).

    The cache is keyed by the requirements.txt digest; st2 itself rebuilds only on
    ``st2 pack install``, so a changed requirements file builds a new one here."""
    from st2common.util import virtualenvs

    link = os.path.join(base_path, "virtualenvs")
    with open(os.path.join(pack_dir, "requirements.txt"), "rb") as fh:
        digest = hashlib.sha256(fh.read()).hexdigest()[:16]
    cache = os.path.join(venv_cache(), digest)
    os.makedirs(cache, exist_ok=True)
    if not os.path.islink(link):
        os.symlink(cache, link)
    for pack in (PACK, "chatops"):
        venv = os.path.join(cache, pack)
        done = os.path.join(venv, ".built-by-st2")
        if not os.path.exists(done):
            shutil.rmtree(venv, ignore_errors=True)
            virtualenvs.setup_pack_virtualenv(pack_name=pack, update=False, force_owner_group=False, no_download=True)
            open(done, "w").close()
    return os.path.join(cache, PACK)
