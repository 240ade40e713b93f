"""Which offset-commit failures the consumer rides out (a broker restart) and which it raises."""

from __future__ import annotations

import pytest
from confluent_kafka import KafkaError, KafkaException

from shopfloor.kafka.consumer import transient_commit_error

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(
    "code",
    [KafkaError.COORDINATOR_LOAD_IN_PROGRESS, KafkaError.NOT_COORDINATOR, KafkaError.COORDINATOR_NOT_AVAILABLE],
)
def test_coordinator_trouble_while_a_broker_restarts_is_retried(code: int) -> None:
    assert transient_commit_error(KafkaException(KafkaError(code)))


@pytest.mark.parametrize("code", [KafkaError.ILLEGAL_GENERATION, KafkaError.UNKNOWN_MEMBER_ID])
def test_a_lost_assignment_is_raised_so_the_batch_comes_again(code: int) -> None:
    assert not transient_commit_error(KafkaException(KafkaError(code)))
