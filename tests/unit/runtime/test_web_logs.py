"""What the web server's libraries log never carries a NIK, however a request quotes one."""

from __future__ import annotations

import logging

from services.runtime.web import redact_library_logs

NIK = "3174055705900001"


class TestLibraryLogs:
    def test_a_request_line_with_a_nik_is_logged_without_it(self, caplog) -> None:
        """Aiohttp logging an over-long request line (and its exception, whose text quotes the line again)
        leaves neither the NIK nor the exception text in the record.
        """
        redact_library_logs()
        logger = logging.getLogger("aiohttp.server")
        error = ValueError(f"Got more than 8190 bytes when reading: b'GET /{NIK}'")
        with caplog.at_level(logging.ERROR, logger="aiohttp.server"):
            logger.error("Error handling request %s", f"/{NIK}?x=1", exc_info=(ValueError, error, None))
        (record,) = caplog.records
        text = caplog.text
        assert NIK not in text
        assert "ValueError" in record.getMessage()
        assert record.exc_info is None

    def test_our_own_loggers_are_left_alone(self, caplog) -> None:
        """Only the libraries' records are rewritten; the bus's own logs carry ids, never personal data."""
        redact_library_logs()
        with caplog.at_level(logging.INFO, logger="services.test"):
            logging.getLogger("services.test").info("offset %s", 12345678)
        assert "12345678" in caplog.text
