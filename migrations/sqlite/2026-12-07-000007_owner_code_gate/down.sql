ALTER TABLE workspaces DROP COLUMN owner_code_threshold;
ALTER TABLE jobs DROP COLUMN whole_workspace;
ALTER TABLE jobs DROP COLUMN needs_owner_code;
