"""The project's own launcher runs a real KRaft broker and survives the usual messes."""

from __future__ import annotations

from pathlib import Path

from kafka import KafkaAdminClient

from deploy.kafka.launcher import KafkaCluster


class TestLauncher:
    def test_second_start_is_a_no_op(self, kafka: KafkaCluster) -> None:
        """Starting a running broker starts nothing and leaves it serving."""
        pid = kafka.members[0].pid()
        assert kafka.start() is False
        assert kafka.members[0].pid() == pid
        admin = KafkaAdminClient(bootstrap_servers=kafka.bootstrap_servers)
        try:
            assert isinstance(admin.list_topics(), list)
        finally:
            admin.close()

    def test_recovers_from_stale_pid_and_half_formatted_storage(self, tmp_path: Path) -> None:
        """After a SIGKILL (stale pid file) and a lost meta.properties, start() still brings it up."""
        cluster = KafkaCluster.on_free_ports(tmp_path)
        try:
            assert cluster.start() is True
            node = cluster.members[0]
            pid = node.pid()
            assert pid is not None
            cluster.kill(1)
            node.pid_file.write_text(str(pid))  # a pid file pointing at a dead process
            (node.data_dir / "meta.properties").unlink()  # as if formatting had been interrupted
            assert cluster.start() is True
            assert cluster.running()
        finally:
            cluster.stop()
        assert not cluster.running()
        assert cluster.members[0].pid() is None
