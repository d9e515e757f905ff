"""Real Redis topologies for tests: a 3-master Redis Cluster and a Sentinel-watched master with a replica.

Every server is a ``redis-server`` child on a free port (never 6379) in a temporary directory; ``stop()``
ends exactly the processes started here. The cluster is formed with ``redis-cli --cluster create``.
"""

from __future__ import annotations

import random
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

from bot.embedded_redis import _answers_ping, find_redis_server, free_port

TOPOLOGY_ENV = "REDIS_TOPOLOGY"  # "cluster": the session's Redis is a 3-master Redis Cluster


class Servers:
    """redis-server children of one topology."""

    def __init__(self, base: Path) -> None:
        self.base = base
        self.processes: dict[int, subprocess.Popen[bytes]] = {}
        binary = find_redis_server()
        if binary is None:
            raise RuntimeError("no redis-server on PATH")
        self.binary = binary

    def spawn(
        self, name: str, *extra: str, config: str | None = None, cluster: bool = False, timeout: float = 10.0
    ) -> int:
        """Start one server (``config``: a config file's text, for sentinels) and wait until it answers."""
        port = cluster_port() if cluster else free_port()
        folder = self.base / f"{name}-{port}"
        folder.mkdir(parents=True)
        args = [self.binary]
        if config is not None:
            (folder / "sentinel.conf").write_text(f"port {port}\nbind 127.0.0.1\ndir {folder}\n{config}")
            args += [str(folder / "sentinel.conf"), "--sentinel"]
        else:
            args += ["--port", str(port), "--bind", "127.0.0.1", "--dir", str(folder), "--save", ""]
            args += ["--appendonly", "no", *extra]
        args += ["--logfile", str(folder / "redis.log")]
        self.processes[port] = subprocess.Popen(
            args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True
        )
        deadline = time.monotonic() + timeout
        while not _answers_ping(port):
            if self.processes[port].poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"redis-server {name} did not start (see {folder / 'redis.log'})")
            time.sleep(0.05)
        return port

    def kill(self, port: int) -> None:
        """SIGKILL one server: a crash, nothing flushed."""
        process = self.processes.pop(port)
        process.send_signal(signal.SIGKILL)
        process.wait()

    def stop(self) -> None:
        """End every server started here."""
        for port in list(self.processes):
            process = self.processes.pop(port)
            if process.poll() is None:
                process.terminate()
                try:
                    process.wait(10)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()


def _free(port: int) -> bool:
    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def cluster_port() -> int:
    """A free port whose cluster bus port (+10000) is free too: at most 55535."""
    while True:
        port = random.randint(20000, 55535)
        if _free(port) and _free(port + 10000):
            return port


def redis_cli(*args: str, timeout: float = 60.0) -> str:
    """Run redis-cli and return its output (RuntimeError with it on failure)."""
    cli = shutil.which("redis-cli")
    if cli is None:
        raise RuntimeError("redis-cli is not installed (apt-get install redis-tools)")
    done = subprocess.run([cli, *args], capture_output=True, text=True, timeout=timeout, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"redis-cli {' '.join(args)}: {done.stdout}{done.stderr}")
    return done.stdout


def wait_replica_synced(port: int, timeout: float = 30.0) -> None:
    """Until the replica on ``port`` says its link to the master is up."""
    deadline = time.monotonic() + timeout
    while "master_link_status:up" not in redis_cli("-p", str(port), "info", "replication"):
        if time.monotonic() > deadline:
            raise RuntimeError("the replica did not connect to the master")
        time.sleep(0.05)


class LocalCluster:
    """Three masters sharing the 16384 slots (``redis-cli --cluster create``), and a fourth master that
    then takes over the one slot of the province's hash tag, alone.

    On that node any key of another slot is "non local": Redis itself refuses a Lua script that touches one
    (even a key built inside the script, not declared in KEYS), and redis-py refuses a cross-slot
    transaction. A whole test session passing on this cluster proves every script and MULTI/EXEC keeps to
    the province's slot.
    """

    def __init__(self, base: Path, masters: int = 3, isolate: str = "{ht}") -> None:
        self.servers = Servers(base)
        self.masters = masters
        self.isolate = isolate
        self.ports: list[int] = []
        self.province_port = 0

    @property
    def url(self) -> str:
        """A redis:// URL of one node: enough for the bot, which then discovers the cluster."""
        return f"redis://127.0.0.1:{self.ports[0]}/0"

    def _node(self, name: str) -> int:
        return self.servers.spawn(
            name,
            "--cluster-enabled",
            "yes",
            "--cluster-config-file",
            "nodes.conf",
            "--cluster-node-timeout",
            "5000",
            cluster=True,
        )

    def _wait_ok(self, ports: list[int], timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while True:
            states = [redis_cli("-p", str(port), "cluster", "info") for port in ports]
            if all("cluster_state:ok" in state for state in states):
                return
            if time.monotonic() > deadline:
                raise RuntimeError("the cluster did not reach cluster_state:ok")
            time.sleep(0.1)

    def _owner(self, slot: int) -> int:
        owner = self._owner_seen_by(self.ports[0], slot)
        if owner is None:
            raise RuntimeError(f"nobody owns slot {slot}")
        return owner

    def _node_id(self, port: int) -> str:
        return redis_cli("-p", str(port), "cluster", "myid").strip()

    def start(self, timeout: float = 30.0) -> str:
        """Start the nodes, create the cluster, give the province's slot its own master, wait until ok."""
        from redis.crc import key_slot

        try:
            self.ports = [self._node(f"node{i}") for i in range(self.masters)]
            nodes = [f"127.0.0.1:{port}" for port in self.ports]
            redis_cli("--cluster", "create", *nodes, "--cluster-replicas", "0", "--cluster-yes")
            self._wait_ok(self.ports, timeout)
            slot = key_slot(self.isolate.encode())
            source = self._owner(slot)
            target = self._node("province")
            redis_cli("--cluster", "add-node", f"127.0.0.1:{target}", nodes[0])
            all_ports = [*self.ports, target]
            deadline = time.monotonic() + timeout
            while any(  # every node knows the new one before the slot moves to it
                redis_cli("-p", str(port), "cluster", "nodes").count("master") < len(all_ports)
                for port in all_ports
            ):
                if time.monotonic() > deadline:
                    raise RuntimeError("the new node did not join")
                time.sleep(0.1)
            source_id, target_id = self._node_id(source), self._node_id(target)
            # An empty slot moves in the documented steps: importing, migrating, then owned by the target.
            redis_cli("-p", str(target), "cluster", "setslot", str(slot), "importing", source_id)
            redis_cli("-p", str(source), "cluster", "setslot", str(slot), "migrating", target_id)
            for port in (target, source):
                redis_cli("-p", str(port), "cluster", "setslot", str(slot), "node", target_id)
            while any(self._owner_seen_by(port, slot) != target for port in all_ports):
                if time.monotonic() > deadline:
                    raise RuntimeError("the slot move did not propagate")
                time.sleep(0.1)
            self.ports.append(target)
            self.province_port = target
            self._wait_ok(all_ports, timeout)
        except BaseException:
            self.stop()
            raise
        return self.url

    def _owner_seen_by(self, port: int, slot: int) -> int | None:
        for line in redis_cli("-p", str(port), "cluster", "nodes").splitlines():
            fields = line.split()
            for span in fields[8:]:
                low, _, high = span.partition("-")
                if low.isdigit() and int(low) <= slot <= int(high or low):
                    return int(fields[1].split("@")[0].rsplit(":", 1)[1])
        return None

    def stop(self) -> None:
        """Stop every node."""
        self.servers.stop()


class LocalSentinel:
    """A master, one replica, and ``sentinels`` sentinels (quorum 1) watching service ``name``."""

    def __init__(self, base: Path, name: str = "tiengdan", sentinels: int = 3) -> None:
        self.servers = Servers(base)
        self.name = name
        self.sentinel_count = sentinels
        self.master_port = 0
        self.replica_port = 0
        self.sentinel_ports: list[int] = []

    @property
    def setting(self) -> str:
        """The REDIS_SENTINEL value."""
        return f"{self.name}@" + ",".join(f"127.0.0.1:{port}" for port in self.sentinel_ports)

    def start(self, timeout: float = 30.0) -> str:
        """Start master, replica (caught up) and sentinels; return the REDIS_SENTINEL value."""
        try:
            self.master_port = self.servers.spawn("master", "--repl-diskless-sync-delay", "0")
            self.replica_port = self.servers.spawn(
                "replica", "--replicaof", "127.0.0.1", str(self.master_port)
            )
            wait_replica_synced(self.replica_port, timeout)
            config = (
                f"sentinel monitor {self.name} 127.0.0.1 {self.master_port} 1\n"
                f"sentinel down-after-milliseconds {self.name} 1000\n"
                f"sentinel failover-timeout {self.name} 5000\n"
                f"sentinel parallel-syncs {self.name} 1\n"
            )
            for i in range(self.sentinel_count):
                self.sentinel_ports.append(self.servers.spawn(f"sentinel{i}", config=config))
        except BaseException:
            self.stop()
            raise
        return self.setting

    def master(self) -> tuple[str, int] | None:
        """The master the first live sentinel names."""
        for port in self.sentinel_ports:
            if port not in self.servers.processes:
                continue
            try:
                answer = redis_cli(
                    "-p", str(port), "sentinel", "get-master-addr-by-name", self.name, timeout=5
                )
            except (RuntimeError, subprocess.TimeoutExpired):
                continue
            lines = answer.split()
            if len(lines) == 2:
                return lines[0], int(lines[1])
        return None

    def kill_master(self) -> int:
        """SIGKILL the current master; return its port."""
        address = self.master()
        port = address[1] if address else self.master_port
        self.servers.kill(port)
        return port

    def stop(self) -> None:
        """Stop every server and sentinel."""
        self.servers.stop()
