"""``bus registry get`` asks the front door with the user's token and a purpose: without either it sends
nothing, says what is missing, and never echoes the NIK.
"""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from services.cli.main import app

NIK = "3174055705900001"


class TestRegistryGet:
    def test_a_lookup_without_a_purpose_is_refused(self) -> None:
        result = CliRunner().invoke(app, ["registry", "get", "--nik", NIK, "--token", "bus_x_y"])
        assert result.exit_code == 2
        assert "--purpose" in result.output
        assert NIK not in result.output

    def test_a_lookup_without_a_token_is_refused(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """No ``--token`` and no ``BUS_TOKEN``: exit 2 with how to get one (no front door is running here:
        a request would fail differently).
        """
        monkeypatch.delenv("BUS_TOKEN", raising=False)
        result = CliRunner().invoke(app, ["registry", "get", "--nik", NIK, "--purpose", "AUDIT"])
        assert result.exit_code == 2
        assert "--token or BUS_TOKEN" in result.output
        assert NIK not in result.output

    def test_the_token_may_come_from_the_environment(self, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setenv("BUS_TOKEN", "bus_x_y")
        monkeypatch.setenv("BUS_FRONT_DOOR_URL", "http://127.0.0.1:9")  # nothing listens on the discard port
        result = CliRunner().invoke(app, ["registry", "get", "--nik", NIK, "--purpose", "AUDIT"])
        assert result.exit_code == 1
        assert "the front door not reachable at http://127.0.0.1:9" in result.output
        assert NIK not in result.output
