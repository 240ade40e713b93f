"""Database access: connection pool, versioned migrations, time partitions, bulk writes, current state."""
