-- Custom roles belong to one workspace: a role can only be assigned in, listed in and
-- edited from its own workspace, so editing it can never widen anyone's access
-- elsewhere. Built-in roles keep no workspace. Names are unique within a workspace.
ALTER TABLE roles DROP CONSTRAINT roles_name_key;
ALTER TABLE roles ADD COLUMN workspace_id BIGINT REFERENCES workspaces(id) ON DELETE CASCADE;

-- A custom role stays with the lowest-numbered workspace that uses it (in a membership
-- or an invitation); every other workspace using it gets a copy of its own, and that
-- workspace's memberships and invitations are re-pointed to the copy. Names were unique
-- across the account until now, so a copy is found again by its name and workspace.
UPDATE roles SET workspace_id = (
    SELECT MIN(used.workspace_id) FROM (
        SELECT workspace_id FROM memberships WHERE role_id = roles.id
        UNION SELECT workspace_id FROM invitations WHERE role_id = roles.id
    ) AS used
) WHERE builtin IS NULL;

INSERT INTO roles (name, builtin, permissions, created_at, workspace_id)
SELECT original.name, NULL, original.permissions, original.created_at, used.workspace_id
FROM roles AS original
JOIN (
    SELECT role_id, workspace_id FROM memberships
    UNION SELECT role_id, workspace_id FROM invitations
) AS used ON used.role_id = original.id
WHERE original.builtin IS NULL AND used.workspace_id <> original.workspace_id;

UPDATE memberships SET role_id = (
    SELECT copy.id FROM roles AS copy JOIN roles AS original ON original.name = copy.name
    WHERE original.id = memberships.role_id AND copy.workspace_id = memberships.workspace_id
      AND copy.builtin IS NULL
) WHERE EXISTS (
    SELECT 1 FROM roles AS original
    WHERE original.id = memberships.role_id AND original.builtin IS NULL
      AND original.workspace_id <> memberships.workspace_id
);

UPDATE invitations SET role_id = (
    SELECT copy.id FROM roles AS copy JOIN roles AS original ON original.name = copy.name
    WHERE original.id = invitations.role_id AND copy.workspace_id = invitations.workspace_id
      AND copy.builtin IS NULL
) WHERE EXISTS (
    SELECT 1 FROM roles AS original
    WHERE original.id = invitations.role_id AND original.builtin IS NULL
      AND original.workspace_id <> invitations.workspace_id
);

-- A custom role nobody uses goes to the oldest workspace.
UPDATE roles SET workspace_id = (SELECT id FROM workspaces ORDER BY created_at, id LIMIT 1)
WHERE builtin IS NULL AND workspace_id IS NULL;

CREATE UNIQUE INDEX roles_workspace_name ON roles (workspace_id, name);
CREATE INDEX invitations_role ON invitations (role_id);

-- Account admins hold account-wide power next to the owner: creating workspaces,
-- disabling, enabling and signing out people, the account-level audit entries.
ALTER TABLE users ADD COLUMN is_account_admin BOOLEAN NOT NULL DEFAULT FALSE;
