-- PostgreSQL's form of 0002_contact_doc.sql: each contact keeps its wire JSON in contacts.doc,
-- rebuilt by triggers from the contact_docs view whenever anything it shows changes.
--
-- Rebuilding locks the contact row first and then reads in a statement of its own: under
-- READ COMMITTED that statement sees every transaction that held the row before, so two
-- concurrent changes to one contact (a tag added while another is removed) both show in the
-- stored JSON, whichever commits last. The lock is FOR NO KEY UPDATE (what an UPDATE of the
-- row takes): it orders rebuilds of one contact but does not conflict with the KEY SHARE lock
-- that inserting a contact_tags row takes for its foreign key, so concurrent taggers never
-- wait on each other's key locks (FOR UPDATE would deadlock them).
ALTER TABLE contacts ADD COLUMN doc TEXT COLLATE "C";

CREATE INDEX contacts_lifecycle_stage ON contacts(lifecycle_stage_id) WHERE lifecycle_stage_id IS NOT NULL;
CREATE INDEX contacts_assignee ON contacts(assignee_user_id) WHERE assignee_user_id IS NOT NULL;

-- Key order follows contacts.schemas.Contact.
CREATE VIEW contact_docs AS
SELECT c.id AS id, json_build_object(
  'id', c.id, 'firstName', c.first_name, 'lastName', c.last_name,
  'phone', c.phone, 'email', c.email, 'language', c.language,
  'profilePic', c.profile_pic, 'countryCode', c.country_code, 'status', c.status,
  'custom_fields', COALESCE((
    SELECT json_agg(json_build_object('name', f.name, 'value',
      CASE WHEN f.data_type IN ('number', 'checkbox') THEN v.value::json
           ELSE to_json(v.value) END) ORDER BY f.id)
    FROM contact_field_values v JOIN custom_fields f ON f.id = v.field_id
    WHERE v.contact_id = c.id), '[]'::json),
  'tags', COALESCE((
    SELECT json_agg(t.name ORDER BY t.name)
    FROM contact_tags ct JOIN tags t ON t.id = ct.tag_id WHERE ct.contact_id = c.id),
    '[]'::json),
  'lifecycle', ls.name,
  'assignee', CASE WHEN u.id IS NULL THEN NULL ELSE json_build_object('id', u.id,
    'firstName', u.first_name, 'lastName', u.last_name, 'email', u.email) END,
  'created_at', c.created_at)::text AS doc
FROM contacts c
LEFT JOIN lifecycle_stages ls ON ls.id = c.lifecycle_stage_id
LEFT JOIN users u ON u.id = c.assignee_user_id;

-- Lock, then rebuild in a new statement (a new snapshot): see the comment at the top. One
-- contact at a time: a plan for "id = <one value>" is an index lookup whatever the table's
-- statistics say, which a plan for "id = ANY(<array>)" inside a function is not.
CREATE FUNCTION contact_doc_refresh(cid BIGINT) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
  PERFORM 1 FROM contacts WHERE id = cid FOR NO KEY UPDATE;
  UPDATE contacts SET doc = (SELECT d.doc FROM contact_docs d WHERE d.id = cid) WHERE id = cid;
END $$;

CREATE FUNCTION contacts_doc() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM contact_doc_refresh(NEW.id);
  RETURN NULL;
END $$;

-- contact_tags and contact_field_values: the contact(s) the row belongs or belonged to.
CREATE FUNCTION contact_rows_doc() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP IN ('UPDATE', 'DELETE') THEN
    PERFORM contact_doc_refresh(OLD.contact_id);
  END IF;
  IF TG_OP = 'INSERT' OR (TG_OP = 'UPDATE' AND NEW.contact_id <> OLD.contact_id) THEN
    PERFORM contact_doc_refresh(NEW.contact_id);
  END IF;
  RETURN NULL;
END $$;

-- A catalogue entry a contact shows by name changed: rebuild the contacts that show it, in
-- id order (so two such changes lock contacts in the same order).
CREATE FUNCTION catalogue_doc() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  cid BIGINT;
BEGIN
  FOR cid IN
    SELECT contact_id FROM contact_tags WHERE TG_TABLE_NAME = 'tags' AND tag_id = NEW.id
    UNION
    SELECT contact_id FROM contact_field_values
    WHERE TG_TABLE_NAME = 'custom_fields' AND field_id = NEW.id
    UNION
    SELECT id FROM contacts WHERE TG_TABLE_NAME = 'users' AND assignee_user_id = NEW.id
    UNION
    SELECT id FROM contacts
    WHERE TG_TABLE_NAME = 'lifecycle_stages' AND lifecycle_stage_id = NEW.id
    ORDER BY 1
  LOOP
    PERFORM contact_doc_refresh(cid);
  END LOOP;
  RETURN NULL;
END $$;

CREATE TRIGGER contacts_doc_insert AFTER INSERT ON contacts
  FOR EACH ROW EXECUTE FUNCTION contacts_doc();

CREATE TRIGGER contacts_doc_update AFTER UPDATE OF first_name, last_name, email, phone,
  language, profile_pic, country_code, lifecycle_stage_id, assignee_user_id, status, created_at
  ON contacts FOR EACH ROW EXECUTE FUNCTION contacts_doc();

CREATE TRIGGER contact_tags_doc AFTER INSERT OR UPDATE OR DELETE ON contact_tags
  FOR EACH ROW EXECUTE FUNCTION contact_rows_doc();

CREATE TRIGGER contact_field_values_doc AFTER INSERT OR UPDATE OR DELETE ON contact_field_values
  FOR EACH ROW EXECUTE FUNCTION contact_rows_doc();

CREATE TRIGGER tags_doc_update AFTER UPDATE OF name ON tags
  FOR EACH ROW EXECUTE FUNCTION catalogue_doc();

CREATE TRIGGER custom_fields_doc_update AFTER UPDATE OF name, data_type ON custom_fields
  FOR EACH ROW EXECUTE FUNCTION catalogue_doc();

CREATE TRIGGER users_doc_update AFTER UPDATE OF first_name, last_name, email ON users
  FOR EACH ROW EXECUTE FUNCTION catalogue_doc();

CREATE TRIGGER lifecycle_stages_doc_update AFTER UPDATE OF name ON lifecycle_stages
  FOR EACH ROW EXECUTE FUNCTION catalogue_doc();

UPDATE contacts c SET doc = d.doc FROM contact_docs d WHERE d.id = c.id;
