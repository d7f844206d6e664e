DROP TABLE anonymous_events;
