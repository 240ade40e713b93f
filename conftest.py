"""Root pytest configuration: the fixture plugins every test directory shares."""

pytest_plugins = ["tests.fixtures.stack", "tests.fixtures.db", "tests.fixtures.kafka", "tests.orders_support.hub"]
