// Validates expanded cards with the official adaptivecards library: parse as schema 1.5 and
// report every parse event (unknown element or property, bad value) and validation failure.
// stdin: {"cards": [{"name", "card"}]}   stdout: {"results": [{"name", "events": [...]}]}
"use strict";
const fs = require("fs");

// adaptivecards' bundle touches `window`/`document` only while rendering; parsing needs neither.
globalThis.window = globalThis;
const AC = require("adaptivecards/dist/adaptivecards.js");

function eventName(value) {
  return AC.ValidationEvent[value] || String(value);
}

// The library ignores unknown properties silently, so check every key against the property
// definitions of the library's own class for that object (and the version they need).
const V15 = new AC.Version(1, 5);
const TYPED = { AdaptiveCard: AC.AdaptiveCard, Column: AC.Column, TableRow: AC.TableRow, TableCell: AC.TableCell };
const UNTYPED = { facts: AC.Fact, refresh: AC.RefreshDefinition };
const HOST_KEYS = new Set(["$schema", "msteams"]); // Teams reads msteams; renderers ignore it
// Collections and fallback are parsed by hand-written code, not through property definitions.
const COLLECTIONS = {
  AdaptiveCard: ["body", "actions"], Container: ["items"], Column: ["items"], TableCell: ["items"],
  ColumnSet: ["columns"], ActionSet: ["actions"], Table: ["rows"], TableRow: ["cells"],
};

function classFor(key, value, parentType) {
  if (typeof value.type === "string") {
    if (TYPED[value.type]) return TYPED[value.type];
    const registries = [AC.GlobalRegistry.defaultElements, AC.GlobalRegistry.defaultActions];
    for (const registry of registries) {
      const info = registry.findByName(value.type);
      if (info) return info.objectType;
    }
    return undefined;
  }
  if (key === "columns" && parentType === "Table") return AC.TableColumnDefinition;
  return UNTYPED[key];
}

function unknownProperties(node, key, parentType, path, events) {
  if (Array.isArray(node)) {
    node.forEach((item, i) => unknownProperties(item, key, parentType, `${path}[${i}]`, events));
    return;
  }
  if (node === null || typeof node !== "object" || key === "data") return;
  const cls = classFor(key, node, parentType);
  if (cls) {
    const schema = new cls().getSchema();
    const known = new Map();
    for (let i = 0; i < schema.getCount(); i++) known.set(schema.getItemAt(i).name, schema.getItemAt(i));
    for (const name of Object.keys(node)) {
      const prop = known.get(name);
      if (name === "type" || name === "fallback" || HOST_KEYS.has(name)) continue;
      if ((COLLECTIONS[node.type] || []).includes(name)) continue;
      if (!prop) {
        events.push({ phase: "schema", event: "UnknownProperty", message: `${path}.${name} is not a property of ${node.type || key}` });
      } else if (prop.targetVersion && prop.targetVersion.compareTo && prop.targetVersion.compareTo(V15) > 0) {
        events.push({ phase: "schema", event: "PropertyNeedsNewerVersion", message: `${path}.${name} needs ${prop.targetVersion}` });
      }
    }
  }
  for (const name of Object.keys(node)) {
    if (name !== "msteams") unknownProperties(node[name], name, node.type, `${path}.${name}`, events);
  }
}

function validate(json) {
  const card = new AC.AdaptiveCard();
  const context = new AC.SerializationContext(new AC.Version(1, 5));
  card.parse(json, context);
  const events = [];
  for (let i = 0; i < context.eventCount; i++) {
    const e = context.getEventAt(i);
    events.push({ phase: "parse", event: eventName(e.event), message: e.message });
  }
  const results = card.validateProperties();
  for (let i = 0; i < results.validationEvents.length; i++) {
    const e = results.validationEvents[i];
    events.push({ phase: "validation", event: eventName(e.event), message: e.message });
  }
  unknownProperties(json, "", undefined, "card", events);
  return events;
}

const request = JSON.parse(fs.readFileSync(0, "utf8"));
const results = request.cards.map((item) => {
  try {
    return { name: item.name, events: validate(item.card) };
  } catch (err) {
    return { name: item.name, events: [{ phase: "exception", event: "Exception", message: String(err) }] };
  }
});
process.stdout.write(JSON.stringify({ results }));
