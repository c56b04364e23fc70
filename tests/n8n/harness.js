#!/usr/bin/env node
// Runs respond.io's published n8n node (@respond-io/n8n-nodes-respond-io) against an
// openrespond server: every operation of the action node, every option loader, both resource
// mappers and the credential test, in the order a person building a workflow would use them.
//
//   node harness.js --node-dir DIR --base-url URL --token TOKEN
//
// (or RESPONDIO_NODE_DIR, RESPONDIO_BASE_URL, RESPONDIO_API_KEY). DIR is the installed
// package; `n8n-workflow` is resolved from there, as n8n resolves a community node's peer
// dependency. Prints one JSON line per call,
//   {"name", "operation", "ok", "result" | "error": {"status", "message", "data"},
//    "requests": [{"method", "url", "body", "status", "response"}]}
// (the first line, "versions", says what was loaded and what the node declares), and exits 0
// once every call has been made: the caller judges the lines.
//
// Each call gets a minimal stand-in for n8n-core's contexts: the parameters are completed with
// their defaults by n8n-workflow's NodeHelpers.getNodeParameters (as the editor saves them);
// getNodeParameter is (name, itemIndex, fallback) in executions and (name, fallback) in option
// loaders and resource mappers, as in n8n-core; helpers.httpRequest sends the node's requests
// for https://api.respond.io/v2/... to <base URL>/v2/... instead.
'use strict';

const fs = require('fs');
const path = require('path');

const API_ORIGIN = 'https://api.respond.io';

function option(flag, envName) {
  const at = process.argv.indexOf(flag);
  if (at !== -1 && process.argv[at + 1] !== undefined) return process.argv[at + 1];
  if (process.env[envName]) return process.env[envName];
  process.stderr.write(`harness.js: give ${flag} (or ${envName})\n`);
  process.exit(2);
}

const nodeDir = path.resolve(option('--node-dir', 'RESPONDIO_NODE_DIR'));
const baseUrl = option('--base-url', 'RESPONDIO_BASE_URL').replace(/\/+$/, '');
const apiKey = option('--token', 'RESPONDIO_API_KEY');

function load(relative) {
  return require(path.join(nodeDir, relative));
}

const workflowPath = require.resolve('n8n-workflow', { paths: [nodeDir] });
const n8nWorkflow = require(workflowPath);
const { ApplicationError, NodeHelpers, Workflow } = n8nWorkflow;
const { Respondio } = load('dist/nodes/Respondio/Respondio.node.js');
const { RespondioTrigger } = load('dist/nodes/Respondio/RespondioTrigger.node.js');
const { RespondIoApi } = load('dist/credentials/RespondIoApi.credentials.js');

// The action node; the trigger node only for the two option loaders its settings use
// (getEventSources, getContactFields: both node types share the package's loaders).
const nodeType = new Respondio().getNodeType(1);
const { description } = nodeType;
const triggerType = new RespondioTrigger().getNodeType(1);

function packageVersion(file) {
  let dir = path.dirname(file);
  while (dir !== path.dirname(dir)) {
    const manifest = path.join(dir, 'package.json');
    if (fs.existsSync(manifest)) {
      const parsed = JSON.parse(fs.readFileSync(manifest, 'utf8'));
      if (parsed.name) return `${parsed.name}@${parsed.version}`;
    }
    dir = path.dirname(dir);
  }
  return 'unknown';
}

// ---------------------------------------------------------------------------------------------
// HTTP: the node's requests, sent to the server under test.

let requests = [];

function toServer(url) {
  if (!url.startsWith(`${API_ORIGIN}/`)) {
    throw new ApplicationError(`the node asked for ${url}, outside ${API_ORIGIN}`);
  }
  return baseUrl + url.slice(API_ORIGIN.length);
}

// helpers.httpRequest as the node uses it: {url, method, headers, body, json, timeout}; the
// parsed body back on 2xx, an error carrying response {status, data} otherwise.
async function httpRequest(options) {
  const url = toServer(options.url);
  const method = (options.method || 'GET').toUpperCase();
  const headers = { Accept: 'application/json', ...(options.headers || {}) };
  let body;
  if (options.body !== undefined) {
    const encode = options.json || typeof options.body !== 'string';
    body = encode ? JSON.stringify(options.body) : options.body;
    if (!Object.keys(headers).some((h) => h.toLowerCase() === 'content-type')) {
      headers['Content-Type'] = 'application/json';
    }
  }
  const record = { method, url: url.slice(baseUrl.length), body: options.body };
  requests.push(record);
  const signals = [AbortSignal.timeout(options.timeout || 30000)];
  if (options.abortSignal) signals.push(options.abortSignal);
  const response = await fetch(url, {
    method,
    headers,
    body,
    signal: signals.length === 1 ? signals[0] : AbortSignal.any(signals),
  });
  const text = await response.text();
  let data = text;
  try {
    data = text === '' ? undefined : JSON.parse(text);
  } catch {
    // not JSON: kept as text
  }
  record.status = response.status;
  if (!response.ok) {
    const error = new Error(`Request failed with status code ${response.status}`);
    error.response = { status: response.status, data };
    record.response = data;
    throw error;
  }
  return data;
}

// ---------------------------------------------------------------------------------------------
// Contexts.

const logger = { debug() {}, info() {}, warn() {}, error() {} };
const staticData = {};

function nodeFor(parameters, type = nodeType) {
  const node = {
    id: 'f6a0c2a4-0000-4000-8000-000000000001',
    name: type.description.defaults.name,
    type: `@respond-io/n8n-nodes-respond-io.${type.description.name}`,
    typeVersion: 1,
    position: [0, 0],
    credentials: { respondIoApi: { id: '1', name: 'openrespond' } },
    parameters: {},
  };
  const resolved = NodeHelpers.getNodeParameters(
    type.description.properties,
    parameters,
    true,
    false,
    node,
    type.description,
  );
  if (resolved === null) throw new ApplicationError('n8n-workflow resolved no parameters');
  const hidden = Object.keys(parameters).filter((name) => !(name in resolved));
  if (hidden.length) {
    // A parameter the editor would not show (and so not save) for these settings.
    throw new ApplicationError(`parameters not shown for these settings: ${hidden.join(', ')}`);
  }
  node.parameters = resolved;
  return node;
}

// As n8n-core: lodash.get(node.parameters, name, fallback), an error when that is undefined.
function parameterOf(node, name, fallback) {
  const value = node.parameters[name] !== undefined ? node.parameters[name] : fallback;
  if (value === undefined) {
    throw new ApplicationError('Could not get parameter', { extra: { parameterName: name } });
  }
  return structuredClone(value);
}

function common(node) {
  return {
    getNode: () => structuredClone(node),
    getCredentials: async (type) => {
      if (type !== 'respondIoApi') throw new ApplicationError(`unknown credentials ${type}`);
      return { apiKey };
    },
    getWorkflowStaticData: (type) => (staticData[type] = staticData[type] || {}),
    getMode: () => 'manual',
    getTimezone: () => 'UTC',
    logger,
    helpers: { httpRequest },
  };
}

function executeContext(parameters) {
  const node = nodeFor(parameters);
  return {
    ...common(node),
    getNodeParameter: (name, itemIndex, fallback) => parameterOf(node, name, fallback),
    getInputData: () => [{ json: {} }],
    continueOnFail: () => false,
  };
}

function loadOptionsContext(parameters, type) {
  const node = nodeFor(parameters, type);
  return {
    ...common(node),
    getNodeParameter: (name, fallback) => parameterOf(node, name, fallback),
    getCurrentNodeParameter: (name) => node.parameters[name],
    getCurrentNodeParameters: () => structuredClone(node.parameters),
  };
}

// ---------------------------------------------------------------------------------------------
// Calls: each prints one line.

function emit(line) {
  process.stdout.write(`${JSON.stringify(line)}\n`);
}

// `operation` names what was exercised: RESOURCE.ACTION, loadOptions.method,
// resourceMapping.method or credentials.test.
async function call(name, operation, run) {
  requests = [];
  try {
    const result = await run();
    emit({ name, operation, ok: true, result, requests });
    return result;
  } catch (error) {
    const status = error && error.response ? error.response.status : null;
    const data = error && error.response ? error.response.data : undefined;
    const message = error && error.message ? error.message : String(error);
    const stack =
      status === null && error && error.stack ? error.stack.split('\n').slice(0, 4) : undefined;
    emit({ name, operation, ok: false, error: { status, message, data, stack }, requests });
    return undefined;
  }
}

function execute(name, parameters) {
  return call(name, `${parameters.resource}.${parameters.operation}`, async () => {
    const output = await nodeType.execute.call(executeContext(parameters));
    const items = output[0] || [];
    const failed = items.find((item) => item.error);
    if (failed) throw failed.error;
    return items.map((item) => item.json);
  });
}

function loadOptions(name, method, parameters, type = nodeType) {
  return call(name, `loadOptions.${method}`, () => {
    if (!type.methods.loadOptions[method]) throw new ApplicationError(`no loader ${method}`);
    return type.methods.loadOptions[method].call(loadOptionsContext(parameters, type));
  });
}

function resourceMapping(name, method, parameters) {
  return call(name, `resourceMapping.${method}`, () =>
    nodeType.methods.resourceMapping[method].call(loadOptionsContext(parameters)),
  );
}

// The credential's test request, its expression resolved by n8n-workflow's expression engine
// as n8n does before it sends it.
function credentialTest(name, key) {
  return call(name, 'credentials.test', async () => {
    const { request } = new RespondIoApi().test;
    const nodeTypes = {
      getByName: () => nodeType,
      getByNameAndVersion: () => nodeType,
      getKnownTypes: () => ({}),
    };
    const node = nodeFor({});
    const workflow = new Workflow({
      nodes: [node],
      connections: {},
      active: false,
      nodeTypes,
    });
    const credentials = { apiKey: key };
    const headers = {};
    for (const [header, value] of Object.entries(request.headers || {})) {
      headers[header] = workflow.expression.getParameterValue(
        value, null, 0, 0, node.name, [], 'internal', { $credentials: credentials },
        undefined, false, credentials,
      );
    }
    return httpRequest({
      url: `${request.baseURL}${request.url}`,
      method: request.method,
      headers,
      json: true,
      timeout: request.timeout,
    });
  });
}

// The resource mapper's value as the editor saves it: the fields it offered, with values.
function mapped(fields, values) {
  return {
    mappingMode: 'defineBelow',
    value: values,
    matchingColumns: [],
    schema: fields.map((field) => ({ ...field, removed: false })),
  };
}

const contact = (identifierType, value) =>
  identifierType === 'id'
    ? { identifierType, contactId: value }
    : { identifierType, contactIdentifier: value };

async function main() {
  // What is installed, and what the node declares (so that the caller can see every
  // operation, loader and mapper was exercised).
  const actions = description.properties
    .filter((p) => p.name === 'operation')
    .flatMap((p) => p.options.map((o) => `${p.displayOptions.show.resource[0]}.${o.value}`));
  emit({
    name: 'versions',
    operation: 'harness',
    ok: true,
    result: {
      node: process.version,
      n8nWorkflow: packageVersion(workflowPath),
      respondIo: packageVersion(path.join(nodeDir, 'dist', 'index.js')),
      declared: [
        ...actions,
        ...Object.keys(nodeType.methods.loadOptions).map((m) => `loadOptions.${m}`),
        ...Object.keys(nodeType.methods.resourceMapping).map((m) => `resourceMapping.${m}`),
        'credentials.test',
      ],
    },
    requests: [],
  });

  // Credentials.
  await credentialTest('credential_test', apiKey);
  await credentialTest('credential_test_wrong_key', `${apiKey}-wrong`);

  // What the editor loads first.
  const channels = (await loadOptions('load_space_channels', 'getSpaceChannels', {})) || [];
  const whatsapp = channels.find((c) => / - whatsapp/.test(c.description)) || {};
  const email = channels.find((c) => / - (other_email|gmail)$/.test(c.description)) || {};
  const users = (await loadOptions('load_space_users', 'getSpaceUsers', {})) || [];
  const agent = users.find((u) => u.name.includes('agent@example.com')) || {};
  const notes = (await loadOptions('load_closing_notes', 'getClosingNotes', {})) || [];
  await loadOptions(
    'load_event_sources',
    'getEventSources',
    { triggerEventType: 'conversationClosed' },
    triggerType,
  );

  // Contact fields.
  const planField = await execute('create_custom_field_list', {
    resource: 'CONTACT_FIELDS',
    operation: 'CREATE_CUSTOM_FIELD',
    name: 'n8n Plan',
    description: 'Subscription plan',
    slug: 'n8n_plan',
    dataType: 'list',
    allowedValues: ['Free', 'Pro', 'Enterprise'],
  });
  await execute('create_custom_field_date', {
    resource: 'CONTACT_FIELDS',
    operation: 'CREATE_CUSTOM_FIELD',
    name: 'n8n Renewal',
    dataType: 'date',
  });
  await execute('get_all_custom_fields', {
    resource: 'CONTACT_FIELDS',
    operation: 'GET_ALL_CUSTOM_FIELDS',
    limit: 50,
  });
  await execute('find_custom_field', {
    resource: 'CONTACT_FIELDS',
    operation: 'FIND_CUSTOM_FIELD',
    customFieldId: planField ? planField[0].id : 0,
  });
  const contactUpdated = { triggerEventType: 'contactUpdated' };
  await loadOptions(
    'load_contact_fields_custom',
    'getContactFields',
    { ...contactUpdated, contactFieldType: 'custom_field' },
    triggerType,
  );
  await loadOptions(
    'load_contact_fields_standard',
    'getContactFields',
    { ...contactUpdated, contactFieldType: 'standard_field' },
    triggerType,
  );
  const mapper = await resourceMapping('map_custom_fields', 'getCustomFields', {
    resource: 'CONTACTS',
    operation: 'CREATE_CONTACT',
    identifierType: 'email',
  });
  const fields = mapper ? mapper.fields : [];
  const plan = fields.find((f) => f.displayName === 'n8n Plan') || { id: 'n8n_plan' };
  const renewal = fields.find((f) => f.displayName === 'n8n Renewal') || { id: 'n8n_renewal' };

  // Contacts.
  const created = await execute('create_contact', {
    resource: 'CONTACTS',
    operation: 'CREATE_CONTACT',
    ...contact('email', 'ada.n8n@example.com'),
    firstName: 'Ada',
    lastName: 'Lovelace',
    phone: '+60 12-345 6789',
    language: 'en',
    profilePic: 'https://example.com/ada.png',
    countryCode: 'MY',
    customFields: mapped(fields, { [plan.id]: 'Pro', [renewal.id]: '2026-03-01T00:00:00.000Z' }),
  });
  const ada = created && created[0] ? created[0].contactId : 0;
  const findAda = (name) =>
    execute(name, { resource: 'CONTACTS', operation: 'FIND_CONTACT', ...contact('id', ada) });
  await findAda('find_contact');
  await execute('update_contact', {
    resource: 'CONTACTS',
    operation: 'UPDATE_CONTACT',
    ...contact('email', 'ada.n8n@example.com'),
    lastName: 'King',
    customFields: mapped(fields, { [plan.id]: 'Enterprise' }),
  });
  await execute('create_or_update_contact_new', {
    resource: 'CONTACTS',
    operation: 'CREATE_OR_UPDATE_CONTACT',
    ...contact('phone', '+60 19-876 5432'),
    firstName: 'Grace',
    lastName: 'Hopper',
    email: 'grace.n8n@example.com',
  });
  await execute('create_or_update_contact_existing', {
    resource: 'CONTACTS',
    operation: 'CREATE_OR_UPDATE_CONTACT',
    ...contact('phone', '+60198765432'),
    lastName: 'Hopper-Murray',
    countryCode: 'US',
  });
  await execute('get_many_contacts', {
    resource: 'CONTACTS',
    operation: 'GET_MANY_CONTACTS',
    search: 'n8n@example.com',
    limit: 10,
  });

  // Space tags, and tags on the contact.
  await execute('add_space_tag', {
    resource: 'TAGS',
    operation: 'ADD_SPACE_TAG',
    name: 'n8n-vip',
    description: 'Added from n8n',
    colorCode: 'tag-green',
  });
  await execute('add_space_tag_bare', {
    resource: 'TAGS',
    operation: 'ADD_SPACE_TAG',
    name: 'n8n-lead',
  });
  await execute('add_tags', {
    resource: 'CONTACTS',
    operation: 'ADD_TAGS',
    ...contact('id', ada),
    tags: ['n8n-vip', 'n8n-lead', 'n8n-new'],
  });
  const tagOptions = (await loadOptions('load_tags_for_contact', 'getTagsForContact', {
    resource: 'CONTACTS',
    operation: 'REMOVE_TAGS',
    ...contact('id', ada),
  })) || [];
  await execute('remove_tags', {
    resource: 'CONTACTS',
    operation: 'REMOVE_TAGS',
    ...contact('id', ada),
    tagIds: tagOptions.filter((t) => t.value === 'n8n-new').map((t) => t.value),
  });

  // Messages: WhatsApp template through the template loaders and mapper, then the rest.
  const send = { resource: 'MESSAGES', operation: 'SEND_MESSAGE', channelType: 'specificChannel' };
  const templates = (await loadOptions('load_whatsapp_templates', 'getWhatsappTemplates', {
    ...send,
    ...contact('id', ada),
    channelId: whatsapp.value,
    messageType: 'whatsapp_template',
  })) || [];
  const hello = templates.find((t) => t.name.startsWith('hello_world')) || {};
  const templateParameters = {
    ...send,
    ...contact('id', ada),
    channelId: whatsapp.value,
    messageType: 'whatsapp_template',
    templateId: hello.value,
  };
  const languages = (await loadOptions(
    'load_whatsapp_template_language_codes',
    'getWhatsappTemplateLanguageCodes',
    templateParameters,
  )) || [];
  await loadOptions(
    'load_template_preview_options',
    'getTemplatePreviewOptions',
    templateParameters,
  );
  const components = await resourceMapping(
    'map_whatsapp_template_component_fields',
    'getWhatsappTemplateComponentFields',
    templateParameters,
  );
  await execute('send_message_whatsapp_template', {
    ...templateParameters,
    templateLanguageCode: languages[0] ? languages[0].value : 'en',
    whatsappTemplateComponentFields: mapped(components ? components.fields : [], {
      $input$_body_1: 'Ada',
    }),
  });
  const text = await execute('send_message_text', {
    ...send,
    ...contact('id', ada),
    channelId: whatsapp.value,
    messageType: 'text',
    text: 'Hello Ada, from n8n',
  });
  await execute('send_message_attachment', {
    ...send,
    ...contact('id', ada),
    channelId: whatsapp.value,
    messageType: 'attachment',
    attachmentType: 'image',
    attachmentUrl: 'https://example.com/n8n.png',
  });
  await execute('send_message_quick_reply', {
    ...send,
    ...contact('id', ada),
    channelId: whatsapp.value,
    messageType: 'quick_reply',
    title: 'Which plan?',
    replies: ['Pro', 'Enterprise'],
  });
  await execute('send_message_custom_payload', {
    ...send,
    ...contact('id', ada),
    channelId: whatsapp.value,
    messageType: 'custom_payload',
    payload: JSON.stringify({ kind: 'n8n', ok: true }),
  });
  await execute('send_message_email', {
    ...send,
    ...contact('email', 'ada.n8n@example.com'),
    channelId: email.value,
    messageType: 'email',
    subject: 'Your n8n plan',
    text: 'Dear Ada, your plan is Enterprise.',
    cc: ['billing@example.com'],
    attachmentCollection: {
      attachments: [{ type: 'file', fileName: '', url: 'https://example.com/terms.pdf' }],
    },
  });
  await execute('send_message_last_interacted_channel', {
    resource: 'MESSAGES',
    operation: 'SEND_MESSAGE',
    channelType: 'lastInteractedChannel',
    ...contact('id', ada),
    messageType: 'text',
    text: 'Sent on the last channel',
  });
  await execute('find_message', {
    resource: 'MESSAGES',
    operation: 'FIND_MESSAGE',
    ...contact('id', ada),
    messageId: text && text[0] ? text[0].messageId : 0,
  });
  await execute('find_contact_channels', {
    resource: 'CONTACTS',
    operation: 'FIND_CONTACT_CHANNELS',
    ...contact('id', ada),
  });

  // Conversation: comment, open, assign, lifecycle, close.
  // A mention as respond.io's API documents it ({{@user.ID}}), and one as the node's own
  // parameter help suggests ($ID$); the node sends either as it is.
  await execute('add_comment', {
    resource: 'COMMENTS',
    operation: 'ADD_COMMENT',
    ...contact('id', ada),
    comment: `Followed up from n8n, {{@user.${agent.value}}} please check`,
  });
  await execute('add_comment_node_mention', {
    resource: 'COMMENTS',
    operation: 'ADD_COMMENT',
    ...contact('id', ada),
    comment: `Also for $${agent.value}$`,
  });
  await execute('open_conversation', {
    resource: 'CONVERSATIONS',
    operation: 'OPEN_OR_CLOSE_CONVERSATION',
    ...contact('id', ada),
    status: 'open',
  });
  await execute('assign_conversation_user_id', {
    resource: 'CONVERSATIONS',
    operation: 'ASSIGN_OR_UNASSIGNED_CONVERSATION',
    ...contact('id', ada),
    assignmentType: 'userId',
    assigneeUserId: agent.value,
  });
  await findAda('find_contact_assigned');
  await execute('unassign_conversation', {
    resource: 'CONVERSATIONS',
    operation: 'ASSIGN_OR_UNASSIGNED_CONVERSATION',
    ...contact('id', ada),
    assignmentType: 'none',
  });
  await findAda('find_contact_unassigned');
  await execute('assign_conversation_user_email', {
    resource: 'CONVERSATIONS',
    operation: 'ASSIGN_OR_UNASSIGNED_CONVERSATION',
    ...contact('email', 'ada.n8n@example.com'),
    assignmentType: 'userEmail',
    assigneeUserEmail: 'owner@example.com',
  });
  await execute('update_contact_lifecycle', {
    resource: 'LIFECYCLE',
    operation: 'UPDATE_CONTACT_LIFECYCLE',
    ...contact('id', ada),
    name: 'Customer',
  });
  await execute('remove_contact_lifecycle', {
    resource: 'LIFECYCLE',
    operation: 'REMOVE_CONTACT_LIFECYCLE',
    ...contact('id', ada),
  });
  await findAda('find_contact_no_lifecycle');
  await execute('update_contact_lifecycle_again', {
    resource: 'LIFECYCLE',
    operation: 'UPDATE_CONTACT_LIFECYCLE',
    ...contact('phone', '+60123456789'),
    name: 'Hot Lead',
  });
  const resolved = notes.find((n) => n.value === 'Resolved') || notes[0] || {};
  await execute('close_conversation', {
    resource: 'CONVERSATIONS',
    operation: 'OPEN_OR_CLOSE_CONVERSATION',
    ...contact('id', ada),
    status: 'close',
    category: resolved.value,
    summary: 'Handled by n8n',
  });

  // Workspace lists.
  await execute('get_all_users', { resource: 'USER', operation: 'GET_ALL_USERS', limit: 10 });
  await execute('find_user', {
    resource: 'USER',
    operation: 'FIND_USER',
    userId: String(agent.value),
  });
  await execute('get_all_channels', {
    resource: 'CHANNELS',
    operation: 'GET_ALL_CHANNELS',
    limit: 10,
  });
  await execute('get_all_closing_notes', {
    resource: 'CLOSING_NOTES',
    operation: 'GET_ALL_CLOSING_NOTES',
    limit: 10,
  });

  // Tags again: rename and recolour one, delete the other.
  await execute('update_space_tag', {
    resource: 'TAGS',
    operation: 'UPDATE_SPACE_TAG',
    currentName: 'n8n-vip',
    name: 'n8n-gold',
    description: 'Renamed from n8n',
    colorCode: 'tag-blue',
    emoji: '🏅',
  });
  await execute('delete_space_tag', {
    resource: 'TAGS',
    operation: 'DELETE_SPACE_TAG',
    name: 'n8n-lead',
  });

  // Last: delete the second contact, then look for it.
  await execute('delete_contact', {
    resource: 'CONTACTS',
    operation: 'DELETE_CONTACT',
    ...contact('phone', '+60198765432'),
  });
  await execute('find_deleted_contact', {
    resource: 'CONTACTS',
    operation: 'FIND_CONTACT',
    ...contact('phone', '+60198765432'),
  });
}

main().then(
  () => process.exit(0),
  (error) => {
    process.stderr.write(`harness.js: ${error && error.stack ? error.stack : error}\n`);
    process.exit(1);
  },
);
