"""Domain events: the bus they are published on and the relay that feeds it from the outbox."""
