-- The rows of a CSV import between its preflight and its job: one row of the file
-- each, as JSON, deleted in the same transaction as the batch that imports it, so
-- what remains is exactly the work left and no personal data outlives the job.
CREATE TABLE import_rows (
    job_id BIGINT NOT NULL REFERENCES jobs(id) ON DELETE CASCADE,
    position BIGINT NOT NULL,
    line BIGINT NOT NULL,
    cells TEXT NOT NULL,
    PRIMARY KEY (job_id, position)
);
