DROP TABLE outbox;
DROP TABLE destinations;
