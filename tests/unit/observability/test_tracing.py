"""The process's tracer provider: named for its service, exporting by OTLP when configured,
else recording nothing while trace context still propagates."""

from __future__ import annotations

import importlib.util
import json
import logging

import pytest
from opentelemetry import propagate, trace

from mesh.config import ConfigError, load_section
from mesh.observability import JsonFormatter, build_tracer_provider, configure_tracing, rpc_tracer
from mesh.server.run import ObservabilityConfig


def test_configure_tracing_installs_a_provider_for_the_service(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    installed: list[object] = []
    monkeypatch.setattr("opentelemetry.trace.set_tracer_provider", installed.append)

    provider = configure_tracing("trading", None)

    assert installed == [provider]
    assert provider.resource.attributes["service.name"] == "trading"


def _otlp_exporter_installed() -> bool:
    try:
        return (
            importlib.util.find_spec("opentelemetry.exporter.otlp.proto.grpc.trace_exporter")
            is not None
        )
    except ModuleNotFoundError:  # a parent package is missing
        return False


def test_configure_tracing_with_an_endpoint_needs_the_otlp_exporter(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    installed: list[object] = []
    monkeypatch.setattr("opentelemetry.trace.set_tracer_provider", installed.append)
    if _otlp_exporter_installed():
        provider = configure_tracing("trading", "http://127.0.0.1:4317")
        assert installed == [provider]
        provider.shutdown()
        return

    with pytest.raises(RuntimeError, match="opentelemetry-exporter-otlp-proto-grpc"):
        configure_tracing("trading", "http://127.0.0.1:4317")
    assert installed == []  # nothing half-configured


def _traceparent(trace_id: int, span_id: int, flags: int) -> dict[str, str]:
    return {"traceparent": f"00-{trace_id:032x}-{span_id:016x}-{flags:02x}"}


def test_without_an_exporter_spans_are_not_recorded_but_continue_the_callers_trace() -> None:
    tracer = rpc_tracer(build_tracer_provider("trading"))
    for flags in (0x01, 0x00):
        parent = propagate.extract(_traceparent(0xABC, 0xDEF, flags))

        span = tracer.start_span("trademesh.trading.v1.T/Place", context=parent)

        assert not span.is_recording()
        context = span.get_span_context()
        assert context.trace_id == 0xABC
        assert context.span_id not in (0, 0xDEF)
        assert int(context.trace_flags) == flags  # the caller's sampling decision passed on
        outgoing: dict[str, str] = {}
        with trace.use_span(span, end_on_exit=True):
            propagate.inject(outgoing)
        assert outgoing == _traceparent(0xABC, context.span_id, flags)


def test_without_an_exporter_a_new_trace_is_started_and_sampled_by_the_ratio() -> None:
    always = rpc_tracer(build_tracer_provider("trading"))
    never = rpc_tracer(build_tracer_provider("trading", sample_ratio=0.0))

    first = always.start_span("a").get_span_context()
    second = always.start_span("b").get_span_context()
    unsampled = never.start_span("c").get_span_context()

    assert first.is_valid and second.is_valid and unsampled.is_valid
    assert first.trace_id != second.trace_id
    assert first.trace_flags.sampled and second.trace_flags.sampled
    assert not unsampled.trace_flags.sampled


def test_log_lines_carry_the_trace_of_an_unrecorded_span() -> None:
    tracer = rpc_tracer(build_tracer_provider("trading"))
    span = tracer.start_span("x", context=propagate.extract(_traceparent(0xABC, 0xDEF, 1)))
    logger = logging.getLogger("trading.orders")
    record = logger.makeRecord(logger.name, logging.INFO, __file__, 1, "placed", (), None)

    with trace.use_span(span, end_on_exit=True):
        entry = json.loads(JsonFormatter("trading").format(record))

    assert entry["trace_id"] == f"{0xABC:032x}"
    assert entry["span_id"] == f"{span.get_span_context().span_id:016x}"


@pytest.mark.skipif(not _otlp_exporter_installed(), reason="needs the OTLP exporter package")
@pytest.mark.parametrize("ratio", [1.0, 0.25])
def test_with_an_exporter_spans_follow_the_parent_or_the_root_ratio(ratio: float) -> None:
    provider = build_tracer_provider("trading", "http://127.0.0.1:4317", sample_ratio=ratio)
    try:
        description = provider.sampler.get_description()
        assert description.startswith("ParentBased{root:TraceIdRatioBased{")
        assert str(ratio) in description
        tracer = rpc_tracer(provider)
        sampled = tracer.start_span("s", context=propagate.extract(_traceparent(1, 2, 1)))
        unsampled = tracer.start_span("u", context=propagate.extract(_traceparent(1, 2, 0)))
        assert sampled.is_recording()
        assert not unsampled.is_recording()
    finally:
        provider.shutdown()


@pytest.mark.parametrize("ratio", [-0.1, 1.5])
def test_a_sample_ratio_outside_0_to_1_is_refused(ratio: float) -> None:
    with pytest.raises(ValueError, match="sample_ratio"):
        build_tracer_provider("trading", sample_ratio=ratio)


def test_the_sample_ratio_setting_is_validated_with_its_key(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("TRADEMESH_OBSERVABILITY_TRACE_SAMPLE_RATIO", "0.25")
    assert load_section(ObservabilityConfig, "observability").trace_sample_ratio == 0.25
    assert ObservabilityConfig().trace_sample_ratio == 1.0

    monkeypatch.setenv("TRADEMESH_OBSERVABILITY_TRACE_SAMPLE_RATIO", "1.5")
    with pytest.raises(ConfigError, match="TRADEMESH_OBSERVABILITY_TRACE_SAMPLE_RATIO"):
        load_section(ObservabilityConfig, "observability")
