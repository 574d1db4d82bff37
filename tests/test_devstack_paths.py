"""The launcher as root: PostgreSQL runs as ``postgres``, which must reach its data directory."""

from __future__ import annotations

import os
import pwd
import tempfile
from pathlib import Path

import pytest

from devstack.servers import PostgresServer, can_traverse

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="only root hands the server over")


def test_a_private_directory_is_not_traversable_by_the_server_account(tmp_path):
    postgres = pwd.getpwnam("postgres")
    private = Path(tempfile.mkdtemp())  # 0700, like mktemp -d or /root
    try:
        assert not can_traverse(private / "project" / ".run", postgres)
        private.chmod(0o711)
        assert can_traverse(private / "project" / ".run", postgres)
    finally:
        private.rmdir()


def test_data_under_a_private_directory_moves_to_the_server_accounts_home():
    postgres = pwd.getpwnam("postgres")
    private = Path(tempfile.mkdtemp())
    run_data = private / ".run" / "data"
    run_data.mkdir(parents=True)
    server = PostgresServer(run_data / "postgres")
    try:
        server._keep_reachable(postgres)
        assert server.data_dir.is_relative_to(postgres.pw_dir)
        assert (run_data / "postgres.location").read_text().strip() == str(server.data_dir.parent)
        again = PostgresServer(run_data / "postgres")
        again._keep_reachable(postgres)
        assert again.data_dir == server.data_dir  # the same project finds the same data
    finally:
        (run_data / "postgres.location").unlink()
        run_data.rmdir()
        run_data.parent.rmdir()
        private.rmdir()
