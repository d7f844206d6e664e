-- Copies made per workspace keep their own rows; only the column goes.
ALTER TABLE users DROP COLUMN is_account_admin;
DROP INDEX invitations_role;
DROP INDEX roles_workspace_name;
ALTER TABLE roles DROP COLUMN workspace_id;
