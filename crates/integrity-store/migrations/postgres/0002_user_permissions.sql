-- Permissions a user has beyond, or lacks from, their role: JSON lists of
-- permission names.
ALTER TABLE users ADD COLUMN grants TEXT NOT NULL DEFAULT '[]';
ALTER TABLE users ADD COLUMN revokes TEXT NOT NULL DEFAULT '[]';
