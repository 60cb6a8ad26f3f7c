"""What the native engine's producer and consumer share: one librdkafka
client in mqcli_native, its metadata requests and its error reports handed
to the words of the librdkafka engine (mqcli.core.kafka.librdkafka.common),
without importing confluent-kafka."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from mqcli.core.errors import UsageError
from mqcli.core.kafka.librdkafka.common import Metadata, NativeError, RequestFailed, check_fatal
from mqcli.core.kafka.native import module

if TYPE_CHECKING:
    from mqcli.core.config import KafkaSettings
    from mqcli.core.kafka.librdkafka.common import Diagnosis


def open_client(kind: str, config: list[tuple[str, str]]) -> Any:
    """mqcli_native's NativeProducer or NativeConsumer (`kind`: "producer" or
    "consumer") with librdkafka's `config`; UsageError with librdkafka's words
    when it refuses them."""
    native = module()
    assert native is not None  # the caller checked that the extension is installed
    try:
        return getattr(native, f"Native{kind.capitalize()}")(config)
    except ValueError as e:
        raise UsageError(f"invalid {kind} settings: {e}") from None


class NativeClient:
    """A client of mqcli_native (NativeProducer or NativeConsumer) with the
    settings and Diagnosis its errors are named with."""

    def __init__(self, settings: KafkaSettings, profile: str | None, diagnosis: Diagnosis, client: Any) -> None:
        self.settings = settings
        self.profile = profile
        self.diagnosis = diagnosis
        self._client = client

    def _fetch(self, timeout: float, topic: str | None = None) -> Metadata:
        """One metadata request (all topics, or `topic`); RequestFailed with its error."""
        error, topics = self._client.metadata(topic, timeout)
        if error is not None:
            raise RequestFailed(NativeError(*error))
        return Metadata({name: (NativeError(*err) if err else None, parts) for name, err, parts in topics})

    def _serve(self) -> None:
        """Hand the client's error reports to the diagnosis; raise for a fatal one."""
        self._client.poll(0)
        for code, name, text, fatal in self._client.errors():
            self.diagnosis(NativeError(code, name, text, fatal))
        check_fatal(self.diagnosis, self.settings, self.profile)
