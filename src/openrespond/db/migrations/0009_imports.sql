-- Contact imports started from the app: the uploaded file waits in the database until a
-- worker has loaded it (a restart resumes where the last committed batch ended).

CREATE TABLE import_jobs (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  workspace_id INTEGER NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
  user_id INTEGER REFERENCES users(id) ON DELETE SET NULL,
  file_name TEXT NOT NULL,
  -- The file as uploaded (UTF-8 CSV); emptied once the import has finished.
  data BLOB NOT NULL,
  -- Rows in the file, and rows read so far: `done` is written with each batch it covers.
  total INTEGER NOT NULL,
  done INTEGER NOT NULL DEFAULT 0,
  created INTEGER NOT NULL DEFAULT 0,
  skipped INTEGER NOT NULL DEFAULT 0,
  -- The first skipped rows' line numbers and reasons: a JSON array of [line, reason].
  errors TEXT NOT NULL DEFAULT '[]',
  status TEXT NOT NULL CHECK (status IN ('queued', 'running', 'done')),
  lease_owner TEXT,
  lease_until INTEGER,
  created_at INTEGER NOT NULL,
  finished_at INTEGER
);
CREATE INDEX import_jobs_workspace ON import_jobs(workspace_id, id);
CREATE INDEX import_jobs_due ON import_jobs(status, lease_until);
