"""Each shim of the emulator fills a gap that unpatched moto still has.

When a moto upgrade closes a gap, its ``gap_exists`` case fails: remove that shim. The probes
are the ones an external emulator is checked with before a run that needs the shims.
"""

from __future__ import annotations

import pytest

from local_stack.emulator import Emulator, EmulatorError, client_factory
from local_stack.emulator.shims import SHIM_NAMES, SHIMS, MotoVersionError, check_moto_version
from tests.local_stack.conftest import direct_clients

pytestmark = pytest.mark.integration


@pytest.mark.parametrize("shim", SHIMS, ids=lambda shim: shim.name)
def test_gap_exists_in_unpatched_moto(shim, unpatched_moto: Emulator):
    assert not shim.probe(direct_clients(unpatched_moto)), (
        f"moto now has {shim.name} without the shim: remove it from local_stack/emulator/shims.py"
    )


@pytest.mark.parametrize("shim", SHIMS, ids=lambda shim: shim.name)
def test_shim_fills_the_gap(shim, emulator: Emulator):
    assert shim.probe(direct_clients(emulator))


def test_an_external_emulator_without_the_shims_is_refused(unpatched_moto: Emulator, monkeypatch):
    external = Emulator(endpoint_url=unpatched_moto.endpoint_url)
    monkeypatch.setenv("AWS_ENDPOINT_URL", external.endpoint_url)
    with pytest.raises(EmulatorError) as refused:
        external.require(SHIM_NAMES, "the stack's terraform apply", client_factory(external))
    message = str(refused.value)
    assert message.startswith(f"the AWS emulator at {external.endpoint_url} lacks ")
    assert all(name in message for name in SHIM_NAMES)
    assert "the stack's terraform apply needs" in message
    assert "make emulator" in message


def test_shims_refuse_another_moto_release():
    check_moto_version()  # the installed one is the pinned one
    with pytest.raises(
        MotoVersionError, match=r"patch moto 5\.2\.5, but moto 5\.3\.0 is installed"
    ):
        check_moto_version("5.3.0")
