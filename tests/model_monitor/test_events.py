"""The monitor's event and settings: anything else than what its schedule and mlops send is
refused by name (MonitorError), never another exception."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from monitor_function import MAX_WINDOW_MINUTES, MonitorError, request_of, settings

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=10),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner),
    max_leaves=8,
)


@given(
    st.one_of(
        json_values,
        st.fixed_dictionaries({}, optional={"since_minutes": json_values, "publish": json_values}),
    )
)
def test_any_event_is_a_window_or_a_named_refusal(event):
    try:
        minutes, publish = request_of(event, 60)
    except MonitorError as error:
        refusal = str(error)
        assert refusal.startswith(("the event", "since_minutes", "publish")), refusal
        return
    assert 1 <= minutes <= MAX_WINDOW_MINUTES
    assert isinstance(publish, bool)


def test_the_schedules_empty_event_measures_the_configured_window_and_publishes():
    assert request_of({}, 60) == (60, True)


@pytest.mark.parametrize(
    ("uri", "bucket", "prefix"),
    [("s3://b/capture/", "b", "capture/"), ("s3://b/capture", "b", "capture/")],
)
def test_the_capture_location_is_read_as_bucket_and_folder(uri, bucket, prefix):
    config = settings({"CAPTURE_S3_URI": uri, "ENDPOINT_NAME": "e", "METRIC_NAMESPACE": "n"})
    assert (config["bucket"], config["prefix"]) == (bucket, prefix)


@pytest.mark.parametrize("uri", ["", "b/capture/", "s3://bucket-only"])
def test_a_capture_location_that_is_not_a_folder_is_refused(uri):
    with pytest.raises(MonitorError, match="CAPTURE_S3_URI must be s3://bucket/prefix/"):
        settings({"CAPTURE_S3_URI": uri, "ENDPOINT_NAME": "e", "METRIC_NAMESPACE": "n"})
