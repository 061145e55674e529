"""Black-box tests of Redis Sentinel (issue 13): the real server with `redis_sentinels`
against a real master, a real replica and three real sentinels. It must find the master
through the sentinels, follow `SENTINEL FAILOVER` (commands and the data-version
subscription move to the new master), and keep answering on its local fallbacks while no
master can be had.
"""
import re
import subprocess
import time
import unittest

import harness
import sentinel

CHANNEL = "hisaab:data-version"


def cli(port, *args):
    return subprocess.run(["redis-cli", "-p", str(port)] + list(args), capture_output=True,
                          text=True, timeout=5).stdout.strip()


class SentinelTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.svc = harness.Services()
        harness.etl(cls.svc, "migrate")
        harness.etl(cls.svc, "run", "--source", harness.SAMPLE, "--format", "csv")
        cls.rs = sentinel.SentinelSet(cls.svc.redis)
        # REDIS_URL points nowhere useful: only the sentinels may say where the master is.
        cls.srv = harness.HisaabServer(cls.svc, workers=2, env={
            "REDIS_URL": "redis://127.0.0.1:1/0"}, extra_hisaab=(
            "\tredis_sentinels %s\n\tredis_sentinel_master hisaab\n" % cls.rs.addrs))
        cls.srv.start()

    @classmethod
    def tearDownClass(cls):
        cls.srv.stop()
        cls.rs.close()
        cls.svc.close()

    def redis_up(self):
        status, doc = self.srv.get_json("/api/v1/health")
        return doc["checks"]["redis"]["status"] == "up"

    def subscribers(self, port):
        out = cli(port, "PUBSUB", "NUMSUB", CHANNEL).split("\n")
        return int(out[1]) if len(out) == 2 else 0

    def publish_seen(self, port, version):
        cli(port, "PUBLISH", CHANNEL, str(version))
        return harness.wait_for(
            lambda: len(re.findall(r"data version %d \(published\)" % version,
                                   self.srv.stderr())) == 2, timeout=10)

    def test_1_master_found_failover_followed(self):
        first = self.rs.master_port()
        self.assertEqual(first, self.svc.redis.port)
        self.assertTrue(harness.wait_for(self.redis_up, timeout=10))
        self.assertTrue(harness.wait_for(lambda: self.subscribers(first) == 2, timeout=10))
        self.assertIn("redis: master 'hisaab' is 127.0.0.1:%d" % first, self.srv.stderr())
        self.assertTrue(self.publish_seen(first, 1001))

        new = self.rs.failover()
        self.assertEqual(new, self.rs.replica.port)
        # Both workers move: commands (PING of /health) and the subscription.
        self.assertTrue(harness.wait_for(
            lambda: self.srv.stderr().count("redis: master 'hisaab' is 127.0.0.1:%d" % new) >= 2,
            timeout=10), self.srv.stderr()[-3000:])
        self.assertTrue(harness.wait_for(lambda: self.subscribers(new) == 2, timeout=10))
        self.assertTrue(harness.wait_for(self.redis_up, timeout=10))
        self.assertTrue(self.publish_seen(new, 1002))
        # The old master is now a replica; then it goes away entirely: nothing changes.
        self.svc.redis.stop()
        for _ in range(10):
            self.assertTrue(self.redis_up())
        self.assertTrue(self.publish_seen(new, 1003))

    def test_2_no_master_local_fallbacks(self):
        for s in self.rs.sentinels:
            s.stop()
        self.rs.replica.stop(kill=True)
        self.assertTrue(harness.wait_for(lambda: not self.redis_up(), timeout=10))
        # Served all the same: the API from the directory, SMS through the local gate.
        status, doc = self.srv.get_json("/api/v1/districts/1752/summary")
        self.assertEqual(status, 200)
        status, _, body = self.srv.get(
            "/sms/kannel?from=919876543210&to=56767&text=NREGA+Niwari&id=s1&charset=UTF-8"
            "&coding=0")
        self.assertEqual(status, 200)
        self.assertIn(b"Niwari", body)
        self.assertIn("no sentinel names a master", self.srv.stderr())


if __name__ == "__main__":
    unittest.main()
