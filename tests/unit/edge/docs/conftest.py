from __future__ import annotations

from pathlib import Path

import pytest
from google.protobuf import descriptor_pb2, descriptor_pool

from tests.unit.edge.docs._sample import compile_sample, sample_pool


@pytest.fixture(scope="module")
def sample_files(tmp_path_factory: pytest.TempPathFactory) -> descriptor_pb2.FileDescriptorSet:
    return compile_sample(Path(tmp_path_factory.mktemp("sample")))


@pytest.fixture(scope="module")
def sample(sample_files: descriptor_pb2.FileDescriptorSet) -> descriptor_pool.DescriptorPool:
    return sample_pool(sample_files)
