"""The fake connector and client of the workflow tests, for driving a service by hand."""

from tests.workflows.conftest import (  # noqa: F401  (fixtures)
    fake_client,
    fake_manifest,
    fake_root,
    make_workflow,
)
