-- Each contact keeps its wire JSON (the Contact object of the API) in contacts.doc, so a read
-- or a page of 100 returns stored text instead of assembling it. Triggers rebuild a contact's
-- doc from the contact_docs view whenever anything it shows changes, so no write path can
-- leave it stale.
ALTER TABLE contacts ADD COLUMN doc TEXT;

CREATE INDEX contacts_lifecycle_stage ON contacts(lifecycle_stage_id) WHERE lifecycle_stage_id IS NOT NULL;
CREATE INDEX contacts_assignee ON contacts(assignee_user_id) WHERE assignee_user_id IS NOT NULL;

-- Key order follows contacts.schemas.Contact.
CREATE VIEW contact_docs AS
SELECT c.id AS id, json_object(
  'id', c.id, 'firstName', c.first_name, 'lastName', c.last_name,
  'phone', c.phone, 'email', c.email, 'language', c.language,
  'profilePic', c.profile_pic, 'countryCode', c.country_code, 'status', c.status,
  'custom_fields', (
    SELECT json_group_array(json_object('name', x.name, 'value',
      CASE WHEN x.data_type IN ('number', 'checkbox') THEN json(x.value) ELSE x.value END))
    FROM (SELECT f.name, f.data_type, v.value FROM contact_field_values v
          JOIN custom_fields f ON f.id = v.field_id WHERE v.contact_id = c.id ORDER BY f.id) x),
  'tags', (
    SELECT json_group_array(x.name)
    FROM (SELECT t.name FROM contact_tags ct JOIN tags t ON t.id = ct.tag_id
          WHERE ct.contact_id = c.id ORDER BY t.name) x),
  'lifecycle', ls.name,
  'assignee', CASE WHEN u.id IS NULL THEN NULL ELSE json_object('id', u.id,
    'firstName', u.first_name, 'lastName', u.last_name, 'email', u.email) END,
  'created_at', c.created_at) AS doc
FROM contacts c
LEFT JOIN lifecycle_stages ls ON ls.id = c.lifecycle_stage_id
LEFT JOIN users u ON u.id = c.assignee_user_id;

CREATE TRIGGER contacts_doc_insert AFTER INSERT ON contacts BEGIN
  UPDATE contacts SET doc = (SELECT doc FROM contact_docs WHERE id = NEW.id) WHERE id = NEW.id;
END;

CREATE TRIGGER contacts_doc_update AFTER UPDATE OF first_name, last_name, email, phone,
  language, profile_pic, country_code, lifecycle_stage_id, assignee_user_id, status, created_at
  ON contacts BEGIN
  UPDATE contacts SET doc = (SELECT doc FROM contact_docs WHERE id = NEW.id) WHERE id = NEW.id;
END;

CREATE TRIGGER contact_tags_doc_insert AFTER INSERT ON contact_tags BEGIN
  UPDATE contacts SET doc = (SELECT doc FROM contact_docs WHERE id = NEW.contact_id)
  WHERE id = NEW.contact_id;
END;

CREATE TRIGGER contact_tags_doc_update AFTER UPDATE ON contact_tags BEGIN
  UPDATE contacts SET doc = (SELECT doc FROM contact_docs WHERE id = contacts.id)
  WHERE id IN (OLD.contact_id, NEW.contact_id);
END;

CREATE TRIGGER contact_tags_doc_delete AFTER DELETE ON contact_tags BEGIN
  UPDATE contacts SET doc = (SELECT doc FROM contact_docs WHERE id = OLD.contact_id)
  WHERE id = OLD.contact_id;
END;

CREATE TRIGGER contact_field_values_doc_insert AFTER INSERT ON contact_field_values BEGIN
  UPDATE contacts SET doc = (SELECT doc FROM contact_docs WHERE id = NEW.contact_id)
  WHERE id = NEW.contact_id;
END;

CREATE TRIGGER contact_field_values_doc_update AFTER UPDATE ON contact_field_values BEGIN
  UPDATE contacts SET doc = (SELECT doc FROM contact_docs WHERE id = contacts.id)
  WHERE id IN (OLD.contact_id, NEW.contact_id);
END;

CREATE TRIGGER contact_field_values_doc_delete AFTER DELETE ON contact_field_values BEGIN
  UPDATE contacts SET doc = (SELECT doc FROM contact_docs WHERE id = OLD.contact_id)
  WHERE id = OLD.contact_id;
END;

CREATE TRIGGER tags_doc_update AFTER UPDATE OF name ON tags BEGIN
  UPDATE contacts SET doc = (SELECT doc FROM contact_docs WHERE id = contacts.id)
  WHERE id IN (SELECT contact_id FROM contact_tags WHERE tag_id = NEW.id);
END;

CREATE TRIGGER custom_fields_doc_update AFTER UPDATE OF name, data_type ON custom_fields BEGIN
  UPDATE contacts SET doc = (SELECT doc FROM contact_docs WHERE id = contacts.id)
  WHERE id IN (SELECT contact_id FROM contact_field_values WHERE field_id = NEW.id);
END;

CREATE TRIGGER users_doc_update AFTER UPDATE OF first_name, last_name, email ON users BEGIN
  UPDATE contacts SET doc = (SELECT doc FROM contact_docs WHERE id = contacts.id)
  WHERE assignee_user_id = NEW.id;
END;

CREATE TRIGGER lifecycle_stages_doc_update AFTER UPDATE OF name ON lifecycle_stages BEGIN
  UPDATE contacts SET doc = (SELECT doc FROM contact_docs WHERE id = contacts.id)
  WHERE lifecycle_stage_id = NEW.id;
END;

UPDATE contacts SET doc = (SELECT doc FROM contact_docs WHERE id = contacts.id);
