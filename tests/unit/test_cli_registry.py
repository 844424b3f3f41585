"""``bus registry get`` refuses a lookup that does not say who asks, from which office and why."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from services.cli.main import app

NIK = "3174055705900001"


class TestRegistryGet:
    @pytest.mark.parametrize("missing", ["--requested-by", "--office", "--purpose"])
    def test_a_lookup_without_who_where_and_why_is_refused(self, missing: str) -> None:
        """Each of the three is required: without it the command exits 2 naming the option, sends nothing
        (no registry is running here: a request would fail differently) and never echoes the NIK.
        """
        given = {"--requested-by": "officer-7", "--office": "kbri-tokyo", "--purpose": "AUDIT"}
        args = ["registry", "get", "--nik", NIK]
        for option, value in given.items():
            if option != missing:
                args += [option, value]
        result = CliRunner().invoke(app, args)
        assert result.exit_code == 2
        assert missing in result.output
        assert NIK not in result.output
