"""Redis with Sentinel for the scale-out tests and drills: the harness's Redis as the first
master, a replica of it, and three sentinels watching them under the name "hisaab".

    rs = sentinel.SentinelSet(svc.redis)
    rs.addrs                      # "127.0.0.1:p1,127.0.0.1:p2,127.0.0.1:p3"
    rs.master_port()              # what the sentinels say now
    rs.failover()                 # SENTINEL FAILOVER, then wait for the new master
    rs.close()

Everything runs on loopback in the harness Redis's directory, stopped at exit.
"""
import atexit
import os
import subprocess
import time

import harness

NAME = "hisaab"


def _cli(port, *args, timeout=5):
    out = subprocess.run(["redis-cli", "-p", str(port)] + list(args), capture_output=True,
                         text=True, timeout=timeout)
    return out.stdout.strip()


class Server:
    """One redis-server (a replica when replicaof is given) or one sentinel."""

    def __init__(self, base, name, replicaof=None, sentinel_of=None):
        self.dir = os.path.join(base, name)
        os.makedirs(self.dir, exist_ok=True)
        self.port = harness.free_port()
        self.conf = os.path.join(self.dir, "redis.conf")
        lines = ["port %d" % self.port, "bind 127.0.0.1", "dir %s" % self.dir,
                 "save \"\"", "appendonly no"]
        if replicaof:
            lines.append("replicaof 127.0.0.1 %d" % replicaof)
        self.sentinel = sentinel_of is not None
        if self.sentinel:
            lines = ["port %d" % self.port, "bind 127.0.0.1", "dir %s" % self.dir,
                     "sentinel monitor %s 127.0.0.1 %d 2" % (NAME, sentinel_of),
                     "sentinel down-after-milliseconds %s 1000" % NAME,
                     "sentinel failover-timeout %s 10000" % NAME,
                     "sentinel parallel-syncs %s 1" % NAME]
        with open(self.conf, "w") as f:
            f.write("\n".join(lines) + "\n")
        self.proc = None
        self.start()

    def start(self):
        argv = ["redis-server", self.conf] + (["--sentinel"] if self.sentinel else [])
        self.proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        harness.wait_port(self.port)

    def stop(self, kill=False):
        if self.proc and self.proc.poll() is None:
            if kill:
                self.proc.kill()
            else:
                self.proc.terminate()
            self.proc.wait(timeout=10)
        self.proc = None

    def cli(self, *args):
        return _cli(self.port, *args)


class SentinelSet:
    def __init__(self, master):
        """master: the harness Redis (anything with .port, .dir, .stop(), .start())."""
        base = os.path.dirname(master.dir)
        self.first = master
        self.replica = Server(base, "redis-replica", replicaof=master.port)
        harness.wait_for(lambda: "master_link_status:up" in self.replica.cli("INFO",
                                                                             "replication"),
                         timeout=15)
        self.sentinels = [Server(base, "sentinel%d" % i, sentinel_of=master.port)
                          for i in range(3)]
        self.addrs = ",".join("127.0.0.1:%d" % s.port for s in self.sentinels)
        # Every sentinel knows the replica and the other sentinels before anything fails.
        harness.wait_for(lambda: all(self._ready(s) for s in self.sentinels), timeout=20)
        atexit.register(self.close)

    def _ready(self, s):
        info = s.cli("SENTINEL", "master", NAME).split("\n")
        d = dict(zip(info[0::2], info[1::2]))
        return d.get("num-slaves") == "1" and d.get("num-other-sentinels") == "2"

    def master_port(self):
        for s in self.sentinels:
            if s.proc is None:
                continue
            out = s.cli("SENTINEL", "get-master-addr-by-name", NAME).split("\n")
            if len(out) == 2 and out[1].isdigit():
                return int(out[1])
        return None

    def failover(self, timeout=20):
        """Move the master to the other server; returns the new master's port."""
        old = self.master_port()
        self.sentinels[0].cli("SENTINEL", "FAILOVER", NAME)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            port = self.master_port()
            if port and port != old and "role:master" in _cli(port, "INFO", "replication"):
                return port
            time.sleep(0.1)
        raise AssertionError("no failover after %ds" % timeout)

    def close(self):
        for s in self.sentinels:
            s.stop()
        self.replica.stop()
